// Command burster watches the worker's request rate and moves the weights of
// its VirtualService between the primary and the burst cluster. See the
// README for the strategies, configuration and failure behaviour; the wiring
// is in internal/app, the settings in internal/config.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
	"github.com/cloudburst-demo/cloudburst/pkg/telemetry"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/app"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/config"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", app.Service, err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := envconf.Load[config.Config]()
	if err != nil {
		return err
	}
	log, err := telemetry.NewLogger(os.Stdout, app.Service, cfg.LogLevel)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return app.Run(ctx, cfg, log)
}
