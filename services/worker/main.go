// Command worker hashes strings and publishes PREFIX + hash on a Redis
// channel. See the README for its HTTP contract and configuration.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
	"github.com/cloudburst-demo/cloudburst/pkg/health"
	"github.com/cloudburst-demo/cloudburst/pkg/redisconn"
	"github.com/cloudburst-demo/cloudburst/pkg/server"
	"github.com/cloudburst-demo/cloudburst/pkg/telemetry"
	"github.com/cloudburst-demo/cloudburst/services/worker/internal/api"
	"github.com/cloudburst-demo/cloudburst/services/worker/internal/publisher"
)

const service = "worker"

type config struct {
	server.Config
	RedisURL       string        `envconfig:"REDIS_URL" default:"redis:6379" desc:"host:port or redis:// URL"`
	RedisChannel   string        `envconfig:"REDIS_CHANNEL" default:"calculation" desc:"channel hashes are published on"`
	Prefix         string        `envconfig:"PREFIX" default:"" desc:"prepended to every hash; bursty- in the burst cluster"`
	MaxBodyBytes   int64         `envconfig:"MAX_BODY_BYTES" default:"65536" desc:"larger request bodies get 413"`
	PublishTimeout time.Duration `envconfig:"PUBLISH_TIMEOUT" default:"1s" desc:"a publish not answered within this, from when the hash is handed to the publisher (waiting for a pipeline included), is failed (503)"`
	LogLevel       string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
}

// Validate checks the settings envconfig cannot.
func (c config) Validate() error {
	switch {
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("PORT %d is not a TCP port", c.Port)
	case c.RedisChannel == "":
		return fmt.Errorf("REDIS_CHANNEL must not be empty")
	case strings.ContainsAny(c.Prefix, "\r\n"):
		return fmt.Errorf("PREFIX must not contain line breaks")
	case c.MaxBodyBytes <= 0:
		return fmt.Errorf("MAX_BODY_BYTES must be positive, got %d", c.MaxBodyBytes)
	case c.PublishTimeout <= 0:
		return fmt.Errorf("PUBLISH_TIMEOUT must be positive, got %s", c.PublishTimeout)
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
	log.Info("starting", "addr", cfg.Addr(), "redis", redisconn.Redact(cfg.RedisURL), "channel", cfg.RedisChannel,
		"prefix", cfg.Prefix, "maxBodyBytes", cfg.MaxBodyBytes, "publishTimeout", cfg.PublishTimeout.String())

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

	srv, pub := newServer(cfg, log, rdb)
	// After the server: its shutdown waits for the requests, which wait for
	// their publishes.
	defer pub.Close()
	return srv.Run(ctx)
}

// newServer wires the worker's routes, readiness and metrics around rdb,
// and starts the publisher they use; the caller closes it after the server.
func newServer(cfg config, log *slog.Logger, rdb redis.UniversalClient) (*server.Server, *publisher.Redis) {
	h := health.New(health.Check{Name: "redis", Fn: redisconn.Ping(rdb)})
	srv := server.New(service, cfg.Config, log, h)
	srv.Propagate = false   // it calls no other service
	var tracer trace.Tracer // none: no publish spans, and no cost for them
	if telemetry.TracingEnabled() {
		tracer = otel.Tracer("github.com/cloudburst-demo/cloudburst/services/worker")
	}
	pub := publisher.NewRedis(rdb, publisher.Config{Channel: cfg.RedisChannel, Timeout: cfg.PublishTimeout},
		tracer, publisher.Metrics(srv.Registry))
	api.Register(srv.Echo, srv.Registry, api.Config{
		Prefix:       cfg.Prefix,
		Publisher:    pub,
		MaxBodyBytes: cfg.MaxBodyBytes,
	})
	return srv, pub
}
