// Command burster watches the worker's request rate and moves the weights of
// its VirtualService between the primary and the burst cluster. See the
// README for the strategies, configuration and failure behaviour.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
	"github.com/cloudburst-demo/cloudburst/pkg/health"
	"github.com/cloudburst-demo/cloudburst/pkg/server"
	"github.com/cloudburst-demo/cloudburst/pkg/telemetry"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/controller"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/election"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

const service = "burster"

// defaultQuery is the worker's request rate as the frontend's sidecar
// reports it (reporter="source"): it counts every request whichever cluster
// serves it, and is scraped by the Prometheus in primary. The deployment
// scrapes every 2s, so a 10s window holds five samples: rate() needs two, and
// five survive a missed scrape while still reacting within seconds. (The
// codelab's 15s window at the default 15s interval often held one sample.)
const defaultQuery = `sum(rate(istio_requests_total{reporter="source",source_workload="frontend",destination_service_name="worker"}[10s]))`

type config struct {
	server.Config
	LogLevel string `envconfig:"LOG_LEVEL" default:"info"`

	Source        string        `envconfig:"SOURCE" default:"prometheus"` // prometheus or scrape
	PrometheusURL string        `envconfig:"PROMETHEUS_URL" default:"http://prometheus.istio-system:9090"`
	Query         string        `envconfig:"QUERY"`
	QueryTimeout  time.Duration `envconfig:"QUERY_TIMEOUT" default:"2s"`
	ScrapeURL     string        `envconfig:"SCRAPE_URL"`
	ScrapeMetric  string        `envconfig:"SCRAPE_METRIC"`
	ScrapeLabels  string        `envconfig:"SCRAPE_LABELS"`
	ScrapeWindow  time.Duration `envconfig:"SCRAPE_WINDOW" default:"5s"`

	Strategy         string        `envconfig:"STRATEGY" default:"switch"`
	HighRPS          float64       `envconfig:"HIGH_RPS" default:"15"`
	LowRPS           float64       `envconfig:"LOW_RPS" default:"10"`
	Step             int           `envconfig:"STEP" default:"20"`
	CapacityRPS      float64       `envconfig:"CAPACITY_RPS" default:"15"`
	Interval         time.Duration `envconfig:"INTERVAL" default:"1s"`
	MinDwell         time.Duration `envconfig:"MIN_DWELL" default:"5s"`
	FailureThreshold int           `envconfig:"FAILURE_THRESHOLD" default:"5"`
	FailSafe         string        `envconfig:"FAIL_SAFE" default:"hold"`
	DryRun           bool          `envconfig:"DRY_RUN" default:"false"`

	Router         string `envconfig:"ROUTER" default:"istio"` // istio or localmesh
	MeshAdminURL   string `envconfig:"MESH_ADMIN_URL"`         // localmesh: its admin API
	VirtualService string `envconfig:"VIRTUAL_SERVICE" default:"worker"`
	Namespace      string `envconfig:"NAMESPACE"` // default: the pod's own
	PrimarySubset  string `envconfig:"PRIMARY_SUBSET" default:"primary"`
	BurstSubset    string `envconfig:"BURST_SUBSET" default:"burst"`

	LeaderElect   bool          `envconfig:"LEADER_ELECT" default:"true"`
	LeaseName     string        `envconfig:"LEASE_NAME" default:"burster"`
	LeaseDuration time.Duration `envconfig:"LEASE_DURATION" default:"15s"`
	RenewDeadline time.Duration `envconfig:"RENEW_DEADLINE" default:"10s"`
	RetryPeriod   time.Duration `envconfig:"RETRY_PERIOD" default:"2s"`
	PodName       string        `envconfig:"POD_NAME"` // the election identity; default: host name
}

func (c config) policy() policy.Config {
	return policy.Config{
		Strategy: c.Strategy, HighRPS: c.HighRPS, LowRPS: c.LowRPS, Step: c.Step, CapacityRPS: c.CapacityRPS,
		MinDwell: c.MinDwell, FailureThreshold: c.FailureThreshold, FailSafe: c.FailSafe,
	}
}

// Validate fills in the default query and checks every setting, naming
// each problem.
func (c *config) Validate() error {
	if c.Query == "" {
		c.Query = defaultQuery
	}
	var errs []error
	switch c.Source {
	case "prometheus":
		if c.PrometheusURL == "" {
			errs = append(errs, errors.New("PROMETHEUS_URL is required with SOURCE=prometheus"))
		}
	case "scrape":
		if c.ScrapeURL == "" || c.ScrapeMetric == "" {
			errs = append(errs, errors.New("SCRAPE_URL and SCRAPE_METRIC are required with SOURCE=scrape"))
		}
	default:
		errs = append(errs, fmt.Errorf("SOURCE %q is not one of prometheus, scrape", c.Source))
	}
	switch c.Router {
	case "istio":
	case "localmesh":
		if c.MeshAdminURL == "" {
			errs = append(errs, errors.New("MESH_ADMIN_URL is required with ROUTER=localmesh"))
		}
		if c.LeaderElect {
			errs = append(errs, errors.New("leader election needs the Kubernetes API: set LEADER_ELECT=false with ROUTER=localmesh"))
		}
	default:
		errs = append(errs, fmt.Errorf("ROUTER %q is not one of istio, localmesh", c.Router))
	}
	if c.Interval <= 0 || c.QueryTimeout <= 0 {
		errs = append(errs, errors.New("INTERVAL and QUERY_TIMEOUT must be positive"))
	}
	if c.VirtualService == "" || c.PrimarySubset == "" || c.BurstSubset == "" || c.PrimarySubset == c.BurstSubset {
		errs = append(errs, errors.New("VIRTUAL_SERVICE must be set, and PRIMARY_SUBSET and BURST_SUBSET set and different"))
	}
	if c.LeaderElect && !(c.LeaseDuration > c.RenewDeadline && c.RenewDeadline > c.RetryPeriod && c.RetryPeriod > 0) {
		errs = append(errs, errors.New("need LEASE_DURATION > RENEW_DEADLINE > RETRY_PERIOD > 0"))
	}
	if err := c.policy().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := newBackend(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.close()
	return serve(ctx, cfg, log, b)
}

// newBackend connects to what the router changes: the Kubernetes API for
// the Istio router, the local mesh's admin API for the demo.
func newBackend(ctx context.Context, cfg config, log *slog.Logger) (*backend, error) {
	if cfg.Router == "localmesh" {
		return &backend{router: router.NewLocalMesh(cfg.MeshAdminURL, cfg.QueryTimeout), close: func() {}}, nil
	}
	rc, ns, err := loadKube(cfg)
	if err != nil {
		return nil, err
	}
	return connect(ctx, cfg, log, rc, ns)
}

// serve runs the burster until ctx is done: the HTTP server, and the
// controller while this replica leads.
func serve(ctx context.Context, cfg config, log *slog.Logger, b *backend) error {
	src, err := newSource(cfg)
	if err != nil {
		return err
	}
	pol, err := policy.New(cfg.policy())
	if err != nil {
		return err
	}
	log.Info("starting", "source", cfg.Source, "router", cfg.Router, "strategy", cfg.Strategy, "high", cfg.HighRPS,
		"low", cfg.LowRPS, "leaderElect", cfg.LeaderElect, "dryRun", cfg.DryRun)

	srv := server.New(service, cfg.Config, log, health.New())
	metrics := controller.NewMetrics(srv.Registry)
	ctrl := controller.New(controller.Config{
		Source: src, Router: b.router, Policy: pol, Events: b.events, Metrics: metrics,
		Interval: cfg.Interval, DryRun: cfg.DryRun, Log: log,
	})
	var leading atomic.Bool
	onLeader := func(l bool) { leading.Store(l); metrics.SetLeader(l) }
	srv.Echo.GET("/api/changes", func(c echo.Context) error { return c.JSON(http.StatusOK, ctrl.Changes()) })
	srv.Echo.GET("/api/status", func(c echo.Context) error {
		return c.JSON(http.StatusOK, status{
			Snapshot: ctrl.Snapshot(), Leader: leading.Load(), Strategy: cfg.Strategy,
			HighRPS: cfg.HighRPS, LowRPS: cfg.LowRPS, Changes: lastChanges(ctrl.Changes(), statusChanges),
		})
	})

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(ctx) })
	g.Go(func() error {
		if !cfg.LeaderElect {
			onLeader(true)
			return ctrl.Run(ctx)
		}
		return election.Run(ctx, election.Config{
			Client: b.clientset, Namespace: b.namespace, Lease: cfg.LeaseName, Identity: b.identity,
			LeaseDuration: cfg.LeaseDuration, RenewDeadline: cfg.RenewDeadline, RetryPeriod: cfg.RetryPeriod,
			Log: log, OnLeader: onLeader,
		}, func(lctx context.Context) {
			if err := ctrl.Run(lctx); err != nil {
				log.Error("controller stopped", "err", err)
			}
		})
	})
	return g.Wait()
}

// statusChanges is how many recent changes /api/status carries.
const statusChanges = 10

// status is the body of GET /api/status, which the frontend shows on its page.
type status struct {
	controller.Snapshot
	Leader   bool                `json:"leader"`
	Strategy string              `json:"strategy"`
	HighRPS  float64             `json:"highRps"`
	LowRPS   float64             `json:"lowRps"`
	Changes  []controller.Change `json:"changes"`
}

func lastChanges(c []controller.Change, n int) []controller.Change {
	return c[max(0, len(c)-n):]
}

func newSource(cfg config) (source.Source, error) {
	if cfg.Source == "scrape" {
		return source.NewScrape(cfg.ScrapeURL, cfg.ScrapeMetric, cfg.ScrapeLabels, cfg.ScrapeWindow, cfg.QueryTimeout)
	}
	return source.NewPrometheus(cfg.PrometheusURL, cfg.Query, cfg.QueryTimeout)
}
