// Command localmesh is the local demo's stand-in for the Istio sidecar: it
// proxies the frontend's requests to the primary, the burst or a further
// burst worker by weights the burster sets through its admin API. Only `make demo` uses it;
// in a cluster, Istio does this job.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cloudburst-demo/cloudburst/demo/internal/localmesh"
	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
	"github.com/cloudburst-demo/cloudburst/pkg/health"
	"github.com/cloudburst-demo/cloudburst/pkg/server"
	"github.com/cloudburst-demo/cloudburst/pkg/telemetry"
)

const service = "localmesh"

type config struct {
	// The admin server: GET/PUT /weights and /capacity, GET /endpoints,
	// /metrics, /healthz, /readyz.
	server.Config
	ProxyPort  int    `envconfig:"PROXY_PORT" default:"8083"`
	PrimaryURL string `envconfig:"PRIMARY_URL" required:"true"`
	BurstURL   string `envconfig:"BURST_URL" required:"true"`
	// FurtherURLs are the destinations after burst, in spill order:
	// NAME=URL,... (e.g. burst-2=http://127.0.0.1:8086).
	FurtherURLs string `envconfig:"FURTHER_URLS"`
	LogLevel    string `envconfig:"LOG_LEVEL" default:"info"`
	// Primary's capacity in requests per second (0: unlimited), and the
	// longest a request queues for a destination with a capacity before
	// the mesh answers 503.
	PrimaryCapacity  float64       `envconfig:"PRIMARY_CAPACITY" default:"0"`
	PrimaryQueueWait time.Duration `envconfig:"PRIMARY_QUEUE_WAIT" default:"1s"`
	// Capacities are the other destinations' capacities: NAME=RPS,...
	// (e.g. burst=20; a destination not named is unlimited).
	Capacities string `envconfig:"CAPACITIES"`

	backends []localmesh.Backend // parsed by Validate
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		os.Exit(1)
	}
}

// Validate checks and parses the destinations and their capacities.
func (c *config) Validate() error {
	if c.PrimaryCapacity < 0 || c.PrimaryQueueWait < 0 {
		return fmt.Errorf("PRIMARY_CAPACITY (%v) and PRIMARY_QUEUE_WAIT (%s) must not be negative", c.PrimaryCapacity, c.PrimaryQueueWait)
	}
	urls := []pair{{localmesh.Primary, c.PrimaryURL, "PRIMARY_URL"}, {"burst", c.BurstURL, "BURST_URL"}}
	further, err := pairs("FURTHER_URLS", c.FurtherURLs)
	if err != nil {
		return err
	}
	c.backends = nil
	for _, p := range append(urls, further...) {
		u, err := parseUpstream(p.from, p.value)
		if err != nil {
			return err
		}
		c.backends = append(c.backends, localmesh.Backend{Name: p.name, URL: u})
	}
	c.backends[0].CapacityRPS = c.PrimaryCapacity
	capacities, err := pairs("CAPACITIES", c.Capacities)
	if err != nil {
		return err
	}
	for _, p := range capacities {
		i := slices.IndexFunc(c.backends, func(b localmesh.Backend) bool { return b.Name == p.name })
		rps, err := strconv.ParseFloat(p.value, 64)
		switch {
		case i < 1:
			return fmt.Errorf("CAPACITIES: %q is not a destination after primary (PRIMARY_CAPACITY is primary's)", p.name)
		case err != nil || !(rps >= 0):
			return fmt.Errorf("CAPACITIES: %s=%s: a capacity is 0 (unlimited) or more requests a second", p.name, p.value)
		}
		c.backends[i].CapacityRPS = rps
	}
	return nil
}

// pair is one NAME=VALUE of a list variable.
type pair struct{ name, value, from string }

// pairs parses NAME=VALUE,... from the variable env.
func pairs(env, s string) ([]pair, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []pair
	for part := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%s: %q is not NAME=VALUE", env, part)
		}
		out = append(out, pair{name, value, env + " " + name})
	}
	return out, nil
}

func run() error {
	cfg, err := envconf.Load[config]()
	if err != nil {
		return err
	}
	log, err := telemetry.NewLogger(os.Stdout, service, cfg.LogLevel)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	admin := server.New(service, cfg.Config, log, health.New())
	mesh, err := localmesh.New(cfg.backends, cfg.PrimaryQueueWait, admin.Registry, log)
	if err != nil {
		return err
	}
	mesh.RegisterAdmin(admin.Echo)

	proxyAddr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.ProxyPort))
	ln, err := net.Listen("tcp", proxyAddr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", proxyAddr, err)
	}
	// The same limits as every server of the project: slow headers and
	// bodies are cut, idle connections closed.
	proxy := server.HTTPServer(server.BodyDeadline(mesh, server.DefaultBodyReadTimeout), log)
	for _, b := range cfg.backends {
		log.Info("destination", "name", b.Name, "url", b.URL.String(), "capacityRps", b.CapacityRPS)
	}
	log.Info("proxying", "addr", ln.Addr().String(), "queueWait", cfg.PrimaryQueueWait)

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return admin.Run(ctx) })
	g.Go(func() error { mesh.Probe(ctx, time.Second, 500*time.Millisecond); return nil })
	g.Go(func() error {
		if err := proxy.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving the proxy: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		return proxy.Shutdown(sctx)
	})
	return g.Wait()
}

func parseUpstream(name, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q must be an http:// URL", name, s)
	}
	return u, nil
}
