// Command localmesh is the local demo's stand-in for the Istio sidecar: it
// proxies the frontend's requests to the primary or the burst worker by
// weights the burster sets through its admin API. Only `make demo` uses it;
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
	"strconv"
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
	LogLevel   string `envconfig:"LOG_LEVEL" default:"info"`
	// Primary's capacity in requests per second (0: unlimited), and the
	// longest a request queues for it before the mesh answers 503.
	PrimaryCapacity  float64       `envconfig:"PRIMARY_CAPACITY" default:"0"`
	PrimaryQueueWait time.Duration `envconfig:"PRIMARY_QUEUE_WAIT" default:"1s"`

	primary, burst *url.URL // parsed by Validate
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		os.Exit(1)
	}
}

// Validate checks and parses the upstream URLs.
func (c *config) Validate() error {
	var err error
	if c.primary, err = parseUpstream("PRIMARY_URL", c.PrimaryURL); err != nil {
		return err
	}
	if c.burst, err = parseUpstream("BURST_URL", c.BurstURL); err != nil {
		return err
	}
	if c.PrimaryCapacity < 0 || c.PrimaryQueueWait < 0 {
		return fmt.Errorf("PRIMARY_CAPACITY (%v) and PRIMARY_QUEUE_WAIT (%s) must not be negative", c.PrimaryCapacity, c.PrimaryQueueWait)
	}
	return nil
}

func run() error {
	cfg, err := envconf.Load[config]()
	if err != nil {
		return err
	}
	primary, burst := cfg.primary, cfg.burst
	log, err := telemetry.NewLogger(os.Stdout, service, cfg.LogLevel)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	admin := server.New(service, cfg.Config, log, health.New())
	mesh := localmesh.New(primary, burst, admin.Registry, log)
	if err := mesh.LimitPrimary(cfg.PrimaryCapacity, cfg.PrimaryQueueWait); err != nil {
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
	log.Info("proxying", "addr", ln.Addr().String(), "primary", primary.String(), "burst", burst.String(),
		"primaryCapacity", cfg.PrimaryCapacity, "primaryQueueWait", cfg.PrimaryQueueWait)

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
