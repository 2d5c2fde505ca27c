package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/health"
	"github.com/cloudburst-demo/cloudburst/pkg/server"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/config"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/controller"
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
	served := p.DeepCopy()
	served.Default()
	served.APIVersion, served.Kind, served.Status = v1alpha1.GroupVersion.String(), v1alpha1.Kind, v1alpha1.BurstPolicyStatus{}
	registerAPI(srv.Echo, &onePolicy{
		meta: served.DeepCopy,
		status: func(prev v1alpha1.BurstPolicyStatus) v1alpha1.BurstPolicyStatus {
			return run.Status(prev, p.Generation)
		},
		changes: run.Changes,
		leading: func() bool { return true },
	})
	log.Info("starting", "policies", cfg.Policies, "file", cfg.PolicyFile, "policy", p.Name, "strategy", p.Spec.Strategy.Type,
		"dryRun", p.Spec.DryRun)

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(ctx) })
	g.Go(func() error {
		// Between steps, a destination carrying traffic that loses its
		// last worker brings the next step at once.
		gate := time.NewTicker(gatePoll)
		defer gate.Stop()
		for {
			due := time.NewTimer(run.Step(ctx, time.Now()))
		wait:
			for {
				select {
				case <-ctx.Done():
					due.Stop()
					return nil
				case <-due.C:
					break wait
				case <-gate.C:
					if run.Stranded(ctx) {
						due.Stop()
						run.Hurry()
						break wait
					}
				}
			}
		}
	})
	return g.Wait()
}

// gatePoll is how often, between steps, the readiness of the destinations
// carrying traffic is read (Runner.Stranded).
const gatePoll = 100 * time.Millisecond
