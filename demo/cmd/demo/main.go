// Command demo runs the whole burst loop on this machine with nothing but Go
// installed: Redis (redis-server if installed, else an embedded miniredis),
// a primary worker, a burst worker with PREFIX=bursty-, the local mesh that
// stands in for Istio, the burster driving it with the codelab's thresholds,
// and the frontend. Open the printed URL and move the slider past 15. A
// process that dies is reported and started again; the others keep running.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/cloudburst-demo/cloudburst/demo/internal/launcher"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
)

// ports are the demo's defaults; every one can be changed with a flag.
var ports = []struct {
	name string
	def  int
	help string
}{
	{"frontend", 8080, "the page"},
	{"worker", 8081, "the primary worker"},
	{"burst-worker", 8082, "the burst worker"},
	{"mesh", 8083, "the local mesh's proxy"},
	{"mesh-admin", 8084, "the local mesh's admin API and metrics"},
	{"burster", 8085, "the burster's status and metrics"},
	{"redis", 6379, "Redis"},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	host := flag.String("host", "127.0.0.1", "address every process listens on")
	redisMode := flag.String("redis", "auto", "auto (redis-server if on PATH, else embedded), server or embedded")
	binDir := flag.String("bin", "bin", "where the binaries are built (relative to the repository root)")
	restartAfter := flag.Duration("restart-after", 10*time.Second,
		"start a process that died again after this long (doubling while it keeps dying); 0 leaves it down")
	port := map[string]*int{}
	for _, p := range ports {
		port[p.name] = flag.Int(p.name+"-port", p.def, "port for "+p.help)
	}
	flag.Parse()

	// Signals and the terminal first: a Ctrl-C during the build is the
	// launcher's alone, and stops it cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	restore, err := launcher.TakeTerminal()
	if err != nil {
		return err
	}
	defer restore()
	out := launcher.NewOutput(os.Stdout, len("burst-worker"))

	used := map[string]int{}
	for name, p := range port {
		used[name] = *p
	}
	if err := launcher.CheckPorts(*host, used); err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	bin := *binDir
	if !filepath.IsAbs(bin) {
		bin = filepath.Join(root, bin)
	}
	if err := build(ctx, out, root, bin); err != nil {
		if ctx.Err() != nil {
			out.Line("demo", "stopped during the build")
			return nil
		}
		return err
	}

	if *restartAfter < 0 {
		return fmt.Errorf("-restart-after=%s is negative", *restartAfter)
	}
	l := launcher.New(out, *restartAfter)
	defer l.Stop()

	url := func(name string) string { return "http://" + addr(*host, *port[name]) }
	redisAddr := addr(*host, *port["redis"])
	if err := startRedis(l, out, *redisMode, *host, *port["redis"]); err != nil {
		return err
	}
	common := map[string]string{"HOST": *host, "DRAIN_DELAY": "0s", "LOG_LEVEL": "info"}
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
	procs := []process.Spec{
		{Name: "worker", Path: filepath.Join(bin, "worker"), Ready: process.HTTPReady(url("worker") + "/readyz"),
			Env: with(map[string]string{"PORT": itoa(*port["worker"]), "REDIS_URL": redisAddr, "PREFIX": ""})},
		{Name: "burst-worker", Path: filepath.Join(bin, "worker"), Ready: process.HTTPReady(url("burst-worker") + "/readyz"),
			Env: with(map[string]string{"PORT": itoa(*port["burst-worker"]), "REDIS_URL": redisAddr, "PREFIX": "bursty-"})},
		{Name: "localmesh", Path: filepath.Join(bin, "localmesh"), Ready: process.HTTPReady(url("mesh-admin") + "/readyz"),
			Env: with(map[string]string{"PORT": itoa(*port["mesh-admin"]), "PROXY_PORT": itoa(*port["mesh"]),
				"PRIMARY_URL": url("worker"), "BURST_URL": url("burst-worker")})},
		{Name: "burster", Path: filepath.Join(bin, "burster"), Ready: process.HTTPReady(url("burster") + "/readyz"),
			Env: with(map[string]string{"PORT": itoa(*port["burster"]),
				// The codelab's thresholds; the scrape source reads the
				// local mesh's request counter, as Prometheus would.
				"HIGH_RPS": "15", "LOW_RPS": "10", "INTERVAL": "1s", "MIN_DWELL": "5s",
				"SOURCE": "scrape", "SCRAPE_URL": url("mesh-admin") + "/metrics",
				"SCRAPE_METRIC": "localmesh_requests_total", "SCRAPE_WINDOW": "5s",
				// The same counter tells the destinations apart, so a dead
				// worker shows as failing on the page.
				"SCRAPE_DESTINATION_LABEL": "destination", "SCRAPE_CODE_LABEL": "code",
				"ROUTER": "localmesh", "MESH_ADMIN_URL": url("mesh-admin"), "LEADER_ELECT": "false",
				// Nothing goes to a burst worker the mesh finds not ready.
				"MESH_READINESS": "true"})},
		{Name: "frontend", Path: filepath.Join(bin, "frontend"), Ready: process.HTTPReady(url("frontend") + "/readyz"),
			Env: with(map[string]string{"PORT": itoa(*port["frontend"]), "REDIS_URL": redisAddr,
				"PROCESSOR_URL": url("mesh") + "/", "BURSTER_URL": url("burster")})},
	}
	for _, p := range procs {
		if err := l.Start(p); err != nil {
			if ctx.Err() != nil {
				out.Line("demo", "stopped while starting")
				return nil
			}
			return err
		}
	}

	fmt.Printf("\nThe demo is running. Open the page, move the slider past 15 requests/s and watch the hashes turn bursty-:\n\n")
	fmt.Printf("    %s/\n\n", url("frontend"))
	fmt.Printf("Ctrl-C stops everything.\n\n")
	<-ctx.Done()
	out.Line("demo", "stopping")
	l.Stop()
	out.Line("demo", "stopped")
	return nil
}

// startRedis runs redis-server as a child, or miniredis inside this process.
func startRedis(l *launcher.Launcher, out *launcher.Output, mode, host string, port int) error {
	server, lookErr := exec.LookPath("redis-server")
	switch {
	case mode == "server" && lookErr != nil:
		return errors.New("-redis=server but redis-server is not on PATH (apt-get install redis-server)")
	case mode == "server" || (mode == "auto" && lookErr == nil):
		out.Line("demo", "Redis: redis-server from "+server)
		return l.Start(process.Spec{Name: "redis", Path: server,
			Args:  []string{"--port", itoa(port), "--bind", host, "--save", "", "--appendonly", "no"},
			Ready: redisReady(addr(host, port))})
	case mode == "embedded" || mode == "auto":
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr(addr(host, port)); err != nil {
			return fmt.Errorf("starting embedded Redis: %w", err)
		}
		out.Line("demo", "Redis: embedded miniredis (redis-server not used) on "+addr(host, port))
		return nil // stops with this process
	default:
		return fmt.Errorf("-redis=%q is not one of auto, server, embedded", mode)
	}
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
