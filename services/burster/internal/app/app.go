// Package app wires the burster together: the rate source, the policy, the
// router and its backend (the Kubernetes API or the local mesh), the
// controller under leader election, and the HTTP server with the status API.
package app

import (
	"context"
	"log/slog"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/health"
	"github.com/cloudburst-demo/cloudburst/pkg/server"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/capacity"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/config"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/controller"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/election"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/runner"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

// Service is the burster's name in logs, metrics and traces.
const Service = "burster"

// Run connects to the router's backend and serves until ctx is done; with
// POLICIES=kubernetes, it runs the namespace's BurstPolicies instead, and
// with POLICIES=file the one in POLICY_FILE.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	switch cfg.Policies {
	case config.PoliciesKubernetes:
		rc, ns, err := loadKube(cfg)
		if err != nil {
			return err
		}
		return ServePolicies(ctx, cfg, log, rc, ns)
	case config.PoliciesFile:
		return ServeFile(ctx, cfg, log)
	}
	b, err := NewBackend(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.Close()
	return Serve(ctx, cfg, log, b)
}

// Serve runs the burster on b until ctx is done: the HTTP server, and the
// controller while this replica leads.
func Serve(ctx context.Context, cfg config.Config, log *slog.Logger, b *Backend) error {
	srcs, err := source.New(cfg.SourceConfig())
	if err != nil {
		return err
	}
	pol, err := policy.New(cfg.Policy())
	if err != nil {
		return err
	}
	log.Info("starting", "source", cfg.Source, "router", cfg.Router, "strategy", cfg.Strategy, "high", cfg.HighRPS,
		"low", cfg.LowRPS, "leaderElect", cfg.LeaderElect, "dryRun", cfg.DryRun)
	var slo *controller.SLO
	if cfg.MeasuresSLO() {
		slo = &controller.SLO{LatencyMS: cfg.SLOLatencyMS, Target: cfg.SLOTarget, WindowSeconds: cfg.SLOWindow.Seconds()}
		log.Info("service level objective", "latencyMs", cfg.SLOLatencyMS, "target", cfg.SLOTarget, "window", cfg.SLOWindow,
			"minRequests", cfg.SLOMinRequests, "probe", cfg.SLOProbe)
	}

	srv := server.New(Service, cfg.Config, log, health.New())
	metrics := controller.NewMetrics(srv.Registry)
	ccfg := controller.Config{
		Source: srcs.Rate, Destinations: srcs.Destinations, Latency: srcs.Latency, SLO: slo,
		Budget: srcs.Budget, Security: srcs.Security, Router: b.router, Policy: pol, Events: b.events, Metrics: metrics,
		Interval: cfg.Interval, DryRun: cfg.DryRun, Log: log, Burst: b.burst,
	}
	if b.scaler != nil {
		// Under slo no rate moves the split: from WARM_RPS on, burst is
		// readied for the whole rate.
		high := cfg.HighRPS
		if cfg.Strategy == policy.SLO {
			high = cfg.WarmRPS
		}
		ccfg.Prescale = &controller.Prescale{Scaler: b.scaler, WarmRPS: cfg.WarmRPS, HighRPS: high,
			PerEndpointRPS: cfg.PerEndpointRPS, Cooldown: cfg.BurstCooldown, Wait: cfg.PrescaleWait}
	}
	var endpoints *capacity.Endpoints
	if cfg.PerEndpointRPS > 0 && cfg.Strategy == policy.Spillover {
		if endpoints, err = capacity.New(b.clientset, b.namespace, cfg.WorkerService, cfg.PerEndpointRPS); err != nil {
			return err
		}
		ccfg.Capacity = endpoints
	}
	ctrl := controller.New(ccfg)
	var leading atomic.Bool
	onLeader := func(l bool) { leading.Store(l); metrics.SetLeader(l) }
	served := cfg.BurstPolicy()
	served.Default()
	view := runner.View{Names: []string{source.Primary, source.Burst}, Route: route(cfg)}
	registerAPI(srv.Echo, &onePolicy{
		meta:    served.DeepCopy,
		status:  func(prev v1alpha1.BurstPolicyStatus) v1alpha1.BurstPolicyStatus { return view.StatusOf(prev, ctrl) },
		changes: func() []v1alpha1.Change { return view.ChangesOf(ctrl) },
		leading: leading.Load,
	})

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(ctx) })
	if endpoints != nil {
		g.Go(func() error { endpoints.Run(ctx); return nil })
	}
	g.Go(func() error {
		if !cfg.LeaderElect {
			onLeader(true)
			return ctrl.Run(ctx)
		}
		return election.Run(ctx, election.Config{
			Client: b.bounded, Namespace: b.namespace, Lease: cfg.LeaseName, Identity: b.identity,
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

// route is the route the variables name, kind/name.
func route(cfg config.Config) string {
	switch cfg.Router {
	case router.KindIstio:
		return "VirtualService/" + cfg.VirtualService
	case router.KindGatewayAPI:
		return "HTTPRoute/" + cfg.HTTPRoute
	}
	return "LocalMesh/" + cfg.MeshAdminURL
}
