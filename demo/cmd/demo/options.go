package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"time"

	"github.com/cloudburst-demo/cloudburst/demo/internal/launcher"
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

// Redis modes: which Redis the demo runs.
const (
	redisAuto     = "auto"     // redis-server if it is on PATH, else embedded
	redisServer   = "server"   // redis-server, which must be on PATH
	redisEmbedded = "embedded" // miniredis inside the launcher
)

// options are the demo's flags. parseOptions checks every one before
// anything is built, so a typo costs a second, not a build.
type options struct {
	host         string
	redis        string // a redis mode
	redisServer  string // the redis-server to run; "" for the embedded one
	binDir       string
	restartAfter time.Duration
	ports        map[string]int
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
	return o, o.check(fs.Args())
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
