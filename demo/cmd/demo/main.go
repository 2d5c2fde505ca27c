// Command demo runs the whole burst loop on this machine with nothing but Go
// installed: Redis (redis-server if installed, else an embedded miniredis),
// a primary worker, a burst worker with PREFIX=bursty- (and with -clusters=3
// a second burst worker with PREFIX=bursty2-), the local mesh that
// stands in for Istio (serving primary at a fixed capacity, 20 req/s unless
// -primary-capacity says otherwise), the burster driving it with the
// codelab's thresholds (or, with -strategy=slo, holding primary at its
// latency objective), and the frontend. Open the printed URL and move the
// slider past 15. A process that dies is reported and started again; the
// others keep running.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/alicebob/miniredis/v2"

	"github.com/cloudburst-demo/cloudburst/demo/internal/launcher"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	opt, err := parseOptions(os.Args[1:], os.Stdout)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err != nil {
		return err
	}

	// Signals and the terminal first: a Ctrl-C during the build is the
	// launcher's alone, and stops it cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	restore, err := launcher.TakeTerminal()
	if err != nil {
		return err
	}
	defer restore()
	// Names padded to the longest process's: the last cluster's worker.
	out := launcher.NewOutput(os.Stdout, len(clusters[opt.clusters-1].worker))

	root, err := repoRoot()
	if err != nil {
		return err
	}
	bin := opt.binDir
	if !filepath.IsAbs(bin) {
		bin = filepath.Join(root, bin)
	}
	stoppedBuilding := func(err error) error {
		if ctx.Err() != nil {
			out.Line("demo", "stopped during the build")
			return nil
		}
		return err
	}
	if err := build(ctx, out, root, bin, pageBinaries, "the first build downloads modules and takes a few minutes"); err != nil {
		return stoppedBuilding(err)
	}

	l := launcher.New(out, opt.restartAfter)
	defer l.Stop()

	url := func(name string) string { return "http://" + addr(opt.host, opt.ports[name]) }
	redisAddr := addr(opt.host, opt.ports["redis"])
	if err := startRedis(l, out, opt.redisServer, opt.host, opt.ports["redis"]); err != nil {
		return err
	}
	common := map[string]string{"HOST": opt.host, "DRAIN_DELAY": "0s", "LOG_LEVEL": "info"}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range common {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	var procs []process.Spec
	var further, capacities, prefixes []string
	for i, c := range clusters[:opt.clusters] {
		procs = append(procs, process.Spec{Name: c.worker, Path: filepath.Join(bin, "worker"), Ready: process.HTTPReady(url(c.worker) + "/readyz"),
			Env: with(map[string]string{"PORT": itoa(opt.ports[c.worker]), "REDIS_URL": redisAddr, "PREFIX": c.prefix})})
		if i >= 2 {
			further = append(further, c.name+"="+url(c.worker))
		}
		if i >= 1 {
			capacities = append(capacities, c.name+"="+ftoa(opt.capacity(i)))
			prefixes = append(prefixes, c.name+"="+c.prefix)
		}
	}
	procs = append(procs,
		process.Spec{Name: "localmesh", Path: filepath.Join(bin, "localmesh"), Ready: process.HTTPReady(url("mesh-admin") + "/readyz"),
			Env: with(map[string]string{"PORT": itoa(opt.ports["mesh-admin"]), "PROXY_PORT": itoa(opt.ports["mesh"]),
				"PRIMARY_URL": url("worker"), "BURST_URL": url("burst-worker"), "FURTHER_URLS": strings.Join(further, ","),
				"PRIMARY_CAPACITY": ftoa(opt.capacity(0)), "CAPACITIES": strings.Join(capacities, ","), "PRIMARY_QUEUE_WAIT": "1s"})},
		process.Spec{Name: "frontend", Path: filepath.Join(bin, "frontend"), Ready: process.HTTPReady(url("frontend") + "/readyz"),
			Env: with(map[string]string{"PORT": itoa(opt.ports["frontend"]), "REDIS_URL": redisAddr, "CLUSTER_PREFIXES": strings.Join(prefixes, ","),
				"PROCESSOR_URL": url("mesh") + "/", "BURSTER_URL": url("burster"), "SLO_LATENCY_MS": ftoa(opt.sloLatencyMS)})},
	)
	start := func(specs ...process.Spec) error {
		for _, p := range specs {
			if err := l.Start(p); err != nil {
				if ctx.Err() != nil {
					out.Line("demo", "stopped while starting")
					return nil
				}
				return err
			}
		}
		return nil
	}
	if err := start(procs...); err != nil || ctx.Err() != nil {
		return err
	}

	switch opt.strategy {
	case strategySLO:
		fmt.Printf("\nThe page is up. Open it, move the slider past primary's capacity (%g requests/s) and watch the burster hold it within %g ms:\n\n",
			opt.capacity(0), opt.sloLatencyMS)
	case strategySpillover:
		fmt.Printf("\nThe page is up. Open it, move the slider past primary's capacity (%g requests/s) and watch the burster spill the rest in order:\n\n",
			opt.capacity(0))
	default:
		fmt.Printf("\nThe page is up. Open it, move the slider past 15 requests/s and watch the hashes turn bursty-:\n\n")
	}
	fmt.Printf("    %s/\n\n", url("frontend"))
	fmt.Printf("Ctrl-C stops everything. The burster is built and started next; until it is up the page says so.\n\n")
	// The burster runs the BurstPolicy the flags describe, from a file:
	// there is no Kubernetes API to hold it.
	state, err := os.MkdirTemp("", "cloudburst-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(state)
	policy, err := writePolicy(state, demoPolicy(opt, url("mesh-admin")))
	if err != nil {
		return err
	}
	out.Line("demo", "the burster's BurstPolicy, from the flags: "+policy)
	bursterEnv := with(map[string]string{"PORT": itoa(opt.ports["burster"]), "POLICIES": "file", "POLICY_FILE": policy})
	burster := process.Spec{Name: "burster", Path: filepath.Join(bin, "burster"), Ready: process.HTTPReady(url("burster") + "/readyz"), Env: bursterEnv}
	if err := build(ctx, out, root, bin, bursterBinaries, "it moves the traffic; the page is served meanwhile"); err != nil {
		return stoppedBuilding(err)
	}
	if err := start(burster); err != nil || ctx.Err() != nil {
		return err
	}
	out.Line("demo", "the burster is up: the split now follows the load")
	if len(opt.capacityAt) > 0 {
		go runCapacitySchedule(ctx, out, url("mesh-admin"), opt.capacityAt)
	}
	<-ctx.Done()
	out.Line("demo", "stopping")
	l.Stop()
	out.Line("demo", "stopped")
	return nil
}

// startRedis runs the redis-server at server as a child or, when server is
// "", miniredis inside this process.
func startRedis(l *launcher.Launcher, out *launcher.Output, server, host string, port int) error {
	if server != "" {
		out.Line("demo", "Redis: redis-server from "+server)
		return l.Start(process.Spec{Name: "redis", Path: server,
			Args:  []string{"--port", itoa(port), "--bind", host, "--save", "", "--appendonly", "no"},
			Ready: redisReady(addr(host, port))})
	}
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr(addr(host, port)); err != nil {
		return fmt.Errorf("starting embedded Redis: %w", err)
	}
	out.Line("demo", "Redis: embedded miniredis (redis-server not used) on "+addr(host, port))
	return nil // stops with this process
}

// repoRoot is the directory holding go.work, at or above the working one.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run the demo inside the repository (no go.work found)")
		}
		dir = parent
	}
}

func addr(host string, port int) string { return net.JoinHostPort(host, itoa(port)) }
func itoa(i int) string                 { return strconv.Itoa(i) }
func ftoa(f float64) string             { return strconv.FormatFloat(f, 'g', -1, 64) }
