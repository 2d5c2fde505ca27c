package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/health"
	"github.com/cloudburst-demo/cloudburst/pkg/server"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/config"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/controller"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/runner"
)

// ServeFile runs the BurstPolicy in POLICY_FILE (POLICIES=file) until ctx
// is done: the demo's way, with no Kubernetes API. Its route is the local
// mesh. It leads from the start (a file has one reader) and serves the
// status API the page reads.
func ServeFile(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	p, err := v1alpha1.ReadFile(cfg.PolicyFile)
	if err != nil {
		return err
	}
	if p.Spec.Route.LocalMesh == nil {
		return fmt.Errorf("the policy in %s names a route in the Kubernetes API: run it with POLICIES=kubernetes", cfg.PolicyFile)
	}
	srv := server.New(Service, cfg.Config, log, health.New())
	controller.NewLeaderMetric(srv.Registry).Set(1)
	run, err := runner.New(ctx, p, runner.Deps{Metrics: srv.Registry, Log: log})
	if err != nil {
		return err
	}
	defer run.Stop()
	var leading atomic.Bool
	leading.Store(true)
	low := 0.0
	if p.Spec.Strategy.LowRPS != nil {
		low = *p.Spec.Strategy.LowRPS
	}
	registerAPI(srv.Echo, settings{router: string(router.KindLocalMesh), strategy: string(p.Spec.Strategy.Type),
		high: p.Spec.Strategy.HighRPS, low: low}, run, &leading)
	log.Info("starting", "policies", cfg.Policies, "file", cfg.PolicyFile, "policy", p.Name, "strategy", p.Spec.Strategy.Type,
		"dryRun", p.Spec.DryRun)

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(ctx) })
	g.Go(func() error {
		for {
			wait := run.Step(ctx, time.Now())
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
	})
	return g.Wait()
}
