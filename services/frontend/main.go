// Command frontend serves the String Hashr page, drives the worker at the
// rate set with the page's slider, and streams the hashes published on Redis
// back to every open page. See the README for its configuration.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
	"github.com/cloudburst-demo/cloudburst/pkg/health"
	"github.com/cloudburst-demo/cloudburst/pkg/redisconn"
	"github.com/cloudburst-demo/cloudburst/pkg/server"
	"github.com/cloudburst-demo/cloudburst/pkg/telemetry"
	"github.com/cloudburst-demo/cloudburst/services/frontend/internal/decisions"
	"github.com/cloudburst-demo/cloudburst/services/frontend/internal/hashfeed"
	"github.com/cloudburst-demo/cloudburst/services/frontend/internal/latency"
	"github.com/cloudburst-demo/cloudburst/services/frontend/internal/loadgen"
	"github.com/cloudburst-demo/cloudburst/services/frontend/internal/stream"
	"github.com/cloudburst-demo/cloudburst/services/frontend/internal/topology"
	"github.com/cloudburst-demo/cloudburst/services/frontend/internal/web"
)

const service = "frontend"

type config struct {
	server.Config
	ProcessorURL   string        `envconfig:"PROCESSOR_URL" default:"http://worker:8080/" desc:"the worker's URL"`
	RedisURL       string        `envconfig:"REDIS_URL" default:"redis:6379" desc:"host:port or redis:// URL"`
	RedisChannel   string        `envconfig:"REDIS_CHANNEL" default:"calculation" desc:"channel the worker publishes on"`
	MaxRPS         int           `envconfig:"MAX_RPS" default:"100" desc:"highest rate the page may set; also the slider's range"`
	InitialRPS     int           `envconfig:"INITIAL_RPS" default:"0" desc:"rate at start"`
	MaxInFlight    int           `envconfig:"MAX_IN_FLIGHT" default:"256" desc:"requests beyond this many outstanding are dropped"`
	RequestTimeout time.Duration `envconfig:"REQUEST_TIMEOUT" default:"2s" desc:"per request to the worker"`
	BursterURL     string        `envconfig:"BURSTER_URL" default:"" desc:"the burster, to show its decisions on the page; empty: not shown"`
	BursterPolicy  string        `envconfig:"BURSTER_POLICY" default:"worker" desc:"the BurstPolicy the page follows (the worker's); empty: the burster's only one"`
	SLOLatencyMS   float64       `envconfig:"SLO_LATENCY_MS" default:"250" desc:"the latency objective the page measures each cluster's answers against (the burster's SLO_LATENCY_MS)"`
	// ClusterPrefixes is the prefix table (hashmsg.ParseClusters).
	ClusterPrefixes string `envconfig:"CLUSTER_PREFIXES" default:"" desc:"the clusters after primary and their workers' PREFIX, in spill order, e.g. burst=bursty-,burst-2=bursty2-; empty: any prefix is burst's"`
	LogLevel        string `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
}

// Validate checks the settings envconfig cannot.
func (c config) Validate() error {
	u, err := url.Parse(c.ProcessorURL)
	switch {
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("PORT %d is not a TCP port", c.Port)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("PROCESSOR_URL %q must be an http:// or https:// URL", c.ProcessorURL)
	case c.RedisChannel == "":
		return fmt.Errorf("REDIS_CHANNEL must not be empty")
	case c.MaxRPS <= 0:
		return fmt.Errorf("MAX_RPS must be positive, got %d", c.MaxRPS)
	case c.InitialRPS < 0 || c.InitialRPS > c.MaxRPS:
		return fmt.Errorf("INITIAL_RPS %d is outside 0 to MAX_RPS (%d)", c.InitialRPS, c.MaxRPS)
	case c.MaxInFlight <= 0:
		return fmt.Errorf("MAX_IN_FLIGHT must be positive, got %d", c.MaxInFlight)
	case c.RequestTimeout <= 0:
		return fmt.Errorf("REQUEST_TIMEOUT must be positive, got %s", c.RequestTimeout)
	case !(c.SLOLatencyMS > 0):
		return fmt.Errorf("SLO_LATENCY_MS must be positive, got %v", c.SLOLatencyMS)
	}
	if _, err := hashmsg.ParseClusters(c.ClusterPrefixes); err != nil {
		return fmt.Errorf("CLUSTER_PREFIXES: %w", err)
	}
	if errs := validation.IsDNS1123Subdomain(c.BursterPolicy); c.BursterPolicy != "" && len(errs) > 0 {
		return fmt.Errorf("BURSTER_POLICY %q is not a policy's name: %s", c.BursterPolicy, errs[0])
	}
	if c.BursterURL != "" {
		if b, err := url.Parse(c.BursterURL); err != nil || (b.Scheme != "http" && b.Scheme != "https") || b.Host == "" {
			return fmt.Errorf("BURSTER_URL %q must be an http:// or https:// URL", c.BursterURL)
		}
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		os.Exit(1)
	}
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
	log.Info("starting", "addr", cfg.Addr(), "processor", cfg.ProcessorURL, "redis", redisconn.Redact(cfg.RedisURL),
		"channel", cfg.RedisChannel, "maxRps", cfg.MaxRPS, "maxInFlight", cfg.MaxInFlight, "requestTimeout", cfg.RequestTimeout.String())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	shutdownTracing, err := telemetry.SetupTracing(ctx, service)
	if err != nil {
		return err
	}
	defer telemetry.Flush(log, shutdownTracing)

	redisconn.SetLogger(log)
	rdb, err := redisconn.Open(cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()

	app, err := newApp(cfg, log, rdb)
	if err != nil {
		return err
	}
	return app.run(ctx)
}

// latencyWindow is how many seconds the page's latency figures cover.
const latencyWindow = 10

// burstPoll is how often the page's view of the burster is refreshed.
const burstPoll = time.Second

// app is the frontend's parts, wired together: the hash feed fills the hub,
// the hub fans frames out to the pages, the pages' commands (through web)
// drive the generator, and every rate change is announced to the hub.
type app struct {
	gen     *loadgen.Generator
	latency *latency.Window
	feed    *hashfeed.Feed
	hub     *stream.Hub
	srv     *server.Server
	burster *decisions.Poller // nil without BURSTER_URL
}

// status is what every page shows: the generator's figures and, when a
// burster is followed, its view.
func (a *app) status() pageapi.Status {
	l := a.latency.Latency()
	s := pageapi.Status{Generator: a.gen.Stats(), Latency: &l}
	if a.burster != nil {
		s.Burster, s.BursterProblem = a.burster.Latest()
		s.Topology = topology.Of(s.Burster, &l)
	}
	return s
}

func newApp(cfg config, log *slog.Logger, rdb *redis.Client) (*app, error) {
	clusters, err := hashmsg.ParseClusters(cfg.ClusterPrefixes)
	if err != nil {
		return nil, fmt.Errorf("CLUSTER_PREFIXES: %w", err)
	}
	lat := latency.New(latencyWindow, time.Duration(cfg.SLOLatencyMS*float64(time.Millisecond)), cfg.RequestTimeout, clusters.Names())
	gen, err := loadgen.New(loadgen.Config{
		URL: cfg.ProcessorURL, MaxRPS: cfg.MaxRPS, MaxInFlight: cfg.MaxInFlight, Timeout: cfg.RequestTimeout, Log: log, Latency: lat,
		Clusters: clusters,
	})
	if err != nil {
		return nil, err
	}
	if err := gen.SetRate(cfg.InitialRPS); err != nil {
		return nil, err
	}
	a := &app{gen: gen, latency: lat}
	a.srv = server.New(service, cfg.Config, log, health.New(health.Check{Name: "redis", Fn: redisconn.Ping(rdb)}))
	a.feed = hashfeed.New(rdb, cfg.RedisChannel, clusters, a.srv.Registry)
	a.hub = stream.NewHub(stream.Config{Status: a.status, MaxRPS: cfg.MaxRPS, Clusters: clusters.Names()}, log, a.srv.Registry)
	gen.OnRateChange(func(int) { a.hub.StatusChanged() })
	if cfg.BursterURL != "" {
		a.burster = decisions.NewPoller(decisions.Config{URL: cfg.BursterURL, Policy: cfg.BursterPolicy, Interval: burstPoll,
			OnChange: a.hub.StatusChanged, Log: log, Metrics: a.srv.Registry})
	}
	gen.RegisterMetrics(a.srv.Registry)
	web.Register(a.srv.Echo, web.Config{Generator: gen, Hub: a.hub, Status: a.status})
	a.srv.OnShutdown(a.hub.Close)
	return a, nil
}

// run runs every part until ctx is done or one of them fails.
func (a *app) run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.gen.Run(ctx) })
	g.Go(func() error { return a.hub.Run(ctx) })
	g.Go(func() error { return a.feed.Run(ctx, a.hub.Add) })
	g.Go(func() error { return a.srv.Run(ctx) })
	if a.burster != nil {
		g.Go(func() error { return a.burster.Run(ctx) })
	}
	return g.Wait()
}
