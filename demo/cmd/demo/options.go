package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudburst-demo/cloudburst/demo/internal/launcher"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/meshapi"
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
	{"burst-2-worker", 8086, "the second burst cluster's worker (-clusters=3)"},
	{"mesh", 8083, "the local mesh's proxy"},
	{"mesh-admin", 8084, "the local mesh's admin API and metrics"},
	{"burster", 8085, "the burster's status and metrics"},
	{"redis", 6379, "Redis"},
}

// Redis modes: which Redis the demo runs.
const (
	redisAuto     = "auto"     // redis-server if it is on PATH, else embedded
	redisServer   = "server"   // redis-server, which must be on PATH
	redisEmbedded = "embedded" // miniredis inside the launcher
)

// Strategies the demo's burster can run.
const (
	strategySwitch    = "switch"    // the codelab's: all to burst above 15 req/s, back below 10
	strategySLO       = "slo"       // primary held at its latency objective, the excess to burst
	strategySpillover = "spillover" // each cluster filled to its capacity in order, the last takes the rest
)

// clusters are the demo's clusters in spill order: each one's destination
// name, worker process (and port flag) and PREFIX.
var clusters = []struct{ name, worker, prefix string }{
	{"primary", "worker", ""},
	{"burst", "burst-worker", "bursty-"},
	{"burst-2", "burst-2-worker", "bursty2-"},
}

// options are the demo's flags. parseOptions checks every one before
// anything is built, so a typo costs a second, not a build.
type options struct {
	host         string
	redis        string // a redis mode
	redisServer  string // the redis-server to run; "" for the embedded one
	binDir       string
	restartAfter time.Duration
	ports        map[string]int

	strategy        string    // a strategy
	clusters        int       // how many clusters: 2 or 3
	primaryCapacity float64   // req/s primary serves; 0: unlimited
	capacities      []float64 // req/s each cluster serves, in spill order; 0: unlimited
	sloLatencyMS    float64   // slo: the objective's latency
	sloTarget       float64   // slo: the share of good requests
	sloWindow       time.Duration
	sloProbe        time.Duration
	sloHeadroom     float64
	capacityAt      capacitySchedule // changes of primary's capacity while the demo runs
}

// errHelp: -help was asked for and the flags were printed.
var errHelp = errors.New("help printed")

// parseOptions reads and checks the flags in args, naming every problem in
// one error. Usage goes to help when -help is given.
func parseOptions(args []string, help io.Writer) (options, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // one message of ours, not flag's usage dump
	var o options
	fs.StringVar(&o.host, "host", "127.0.0.1", "address every process listens on")
	fs.StringVar(&o.redis, "redis", redisAuto, "auto (redis-server if on PATH, else embedded), server or embedded")
	fs.StringVar(&o.binDir, "bin", "bin", "where the binaries are built (relative to the repository root)")
	fs.DurationVar(&o.restartAfter, "restart-after", 10*time.Second,
		"start a process that died again after this long (doubling while it keeps dying); 0 leaves it down")
	fs.StringVar(&o.strategy, "strategy", strategySwitch, "the burster's strategy: switch (the codelab's 15/10 thresholds), slo (primary held at its latency objective) or spillover (each cluster filled to its capacity in order); with -clusters=3, spillover or slo")
	fs.IntVar(&o.clusters, "clusters", 2, "how many clusters: 2 (primary, burst) or 3 (and burst-2, whose worker publishes with PREFIX=bursty2-)")
	fs.Float64Var(&o.primaryCapacity, "primary-capacity", 20, "requests per second primary serves, queueing the rest up to 1 s, then 503; 0: unlimited")
	capacities := fs.String("capacities", "", "requests per second each cluster serves, in order, e.g. 20,20,0 (0: unlimited); the first is primary's, so not with -primary-capacity; default: -primary-capacity, then unlimited")
	fs.Float64Var(&o.sloLatencyMS, "slo-latency-ms", 250, "-strategy=slo: a good request is answered within this (one of Istio's buckets)")
	fs.Float64Var(&o.sloTarget, "slo-target", 0.99, "-strategy=slo: the share of primary's requests that must be good")
	fs.DurationVar(&o.sloWindow, "slo-window", 5*time.Second, "-strategy=slo: the window of the SLI (at least 4s: four scrapes)")
	fs.DurationVar(&o.sloProbe, "slo-probe", 5*time.Minute, "-strategy=slo: time without queueing before primary is offered more than its capacity; 0: never")
	fs.Float64Var(&o.sloHeadroom, "slo-headroom", 0.05, "-strategy=slo: the share of primary's capacity left unused (0.05 is 5%)")
	fs.Var(&o.capacityAt, "primary-capacity-at", "change primary's capacity while the demo runs: DURATION=RPS,... from when the burster is up, e.g. 2m=10,4m=20 (0: unlimited)")
	port := map[string]*int{}
	for _, p := range ports {
		port[p.name] = fs.Int(p.name+"-port", p.def, "port for "+p.help)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(help)
			fmt.Fprintln(help, "make demo DEMO_FLAGS=\"...\" takes these flags:")
			fs.PrintDefaults()
			return o, errHelp
		}
		return o, fmt.Errorf("%w (make demo DEMO_FLAGS=-help lists the flags)", err)
	}
	o.ports = map[string]int{}
	for name, p := range port {
		o.ports[name] = *p
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var capErr error
	o.capacities, capErr = parseCapacities(*capacities, set["capacities"] && set["primary-capacity"])
	return o, errors.Join(capErr, o.check(fs.Args()))
}

// parseCapacities reads -capacities: rates in requests a second, each 0
// (unlimited) or more. An empty flag leaves them to -primary-capacity.
func parseCapacities(v string, withPrimary bool) ([]float64, error) {
	if v == "" {
		return nil, nil
	}
	if withPrimary {
		return nil, errors.New("-capacities and -primary-capacity both give primary's capacity: give one")
	}
	var out []float64
	for part := range strings.SplitSeq(v, ",") {
		rps, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || !(rps >= 0 && rps <= 1e6) {
			return nil, fmt.Errorf("-capacities=%s: %q is not a rate (0 for unlimited, up to 1e6 requests a second)", v, part)
		}
		out = append(out, rps)
	}
	return out, nil
}

// capacity is what cluster i serves, in requests a second (0: unlimited).
func (o *options) capacity(i int) float64 {
	switch {
	case o.capacities != nil:
		return o.capacities[i]
	case i == 0:
		return o.primaryCapacity
	}
	return 0
}

// check validates the options and resolves the Redis to run: every problem,
// each named by its flag, then the ports, which must be free.
func (o *options) check(rest []string) error {
	var errs []error
	if len(rest) > 0 {
		errs = append(errs, fmt.Errorf("unexpected argument %q: the demo takes flags only (make demo DEMO_FLAGS=-help lists them)", strings.Join(rest, " ")))
	}
	if o.restartAfter < 0 {
		errs = append(errs, fmt.Errorf("-restart-after=%s is negative (0 leaves a process that died down)", o.restartAfter))
	}
	switch o.strategy {
	case strategySwitch, strategySLO, strategySpillover:
	default:
		errs = append(errs, fmt.Errorf("-strategy=%q is not one of %s, %s, %s", o.strategy, strategySwitch, strategySLO, strategySpillover))
	}
	if o.clusters < 2 || o.clusters > len(clusters) {
		errs = append(errs, fmt.Errorf("-clusters=%d: the demo runs 2 or %d clusters", o.clusters, len(clusters)))
	} else if o.clusters > 2 && o.strategy == strategySwitch {
		// switch moves between two destinations.
		errs = append(errs, fmt.Errorf("-clusters=%d spills in order with -strategy=%s or %s (not %s)", o.clusters, strategySpillover, strategySLO, o.strategy))
	}
	if o.capacities != nil && len(o.capacities) != o.clusters {
		errs = append(errs, fmt.Errorf("-capacities gives %d capacities for %d clusters: one each, in order", len(o.capacities), o.clusters))
	}
	if !(o.primaryCapacity >= 0) {
		errs = append(errs, fmt.Errorf("-primary-capacity=%v is negative (0: unlimited)", o.primaryCapacity))
	} else if o.strategy == strategySpillover && (o.capacities == nil || len(o.capacities) == o.clusters) && o.capacity(0) == 0 {
		errs = append(errs, fmt.Errorf("-strategy=%s fills primary to its capacity first: give primary one (-primary-capacity or -capacities)", strategySpillover))
	}
	if !slices.Contains(meshapi.LatencyBuckets, o.sloLatencyMS) {
		errs = append(errs, fmt.Errorf("-slo-latency-ms=%v is not a bucket of the mesh's latency histogram (Istio's: %v)", o.sloLatencyMS, meshapi.LatencyBuckets))
	}
	if !(o.sloTarget > 0 && o.sloTarget < 1) {
		errs = append(errs, fmt.Errorf("-slo-target=%v must be above 0 and below 1 (0.99 is 99%%)", o.sloTarget))
	}
	if o.sloProbe < 0 {
		errs = append(errs, fmt.Errorf("-slo-probe=%s is negative (0 never probes)", o.sloProbe))
	}
	if !(o.sloHeadroom > 0 && o.sloHeadroom <= 0.5) {
		errs = append(errs, fmt.Errorf("-slo-headroom=%v must be above 0 and at most 0.5 (0.05 is 5%%)", o.sloHeadroom))
	}
	if o.sloWindow < 4*time.Second {
		errs = append(errs, fmt.Errorf("-slo-window=%s must hold four of the burster's 1s scrapes (at least 4s)", o.sloWindow))
	}
	server, lookErr := exec.LookPath("redis-server")
	switch o.redis {
	case redisAuto:
		if lookErr == nil {
			o.redisServer = server
		}
	case redisServer:
		if lookErr != nil {
			errs = append(errs, errors.New("-redis=server but redis-server is not on PATH (install it: apt-get install redis-server, or brew install redis; or use -redis=embedded)"))
		}
		o.redisServer = server
	case redisEmbedded:
	default:
		errs = append(errs, fmt.Errorf("-redis=%q is not one of %s, %s, %s", o.redis, redisAuto, redisServer, redisEmbedded))
	}
	for _, p := range ports {
		if n := o.ports[p.name]; n < 1 || n > 65535 {
			errs = append(errs, fmt.Errorf("-%s-port=%d is not a TCP port (1 to 65535)", p.name, n))
		}
	}
	// A cluster the demo does not run needs no port.
	for _, c := range clusters[min(max(o.clusters, 2), len(clusters)):] {
		delete(o.ports, c.worker)
	}
	if ln, err := net.Listen("tcp", net.JoinHostPort(o.host, "0")); err != nil {
		errs = append(errs, fmt.Errorf("-host=%q: cannot listen there: %w", o.host, err))
	} else {
		ln.Close()
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return launcher.CheckPorts(o.host, o.ports)
}
