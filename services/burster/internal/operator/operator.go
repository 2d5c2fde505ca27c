// Package operator runs every BurstPolicy in a namespace on
// controller-runtime: the manager's leader election picks the one replica
// that writes, its cache watches the policies and the routes they name, and
// a reconcile per policy per interval steps the policy's Runner and writes
// what it knows into the policy's status. A change to a route brings its
// policy's reconcile at once, so weights someone else moved are put back.
package operator

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
)

// Config configures the operator: what belongs to the process, not to a
// policy.
type Config struct {
	RESTConfig *rest.Config
	Namespace  string // the policies' (and their routes') namespace
	// LeaderElect: only the replica holding the Lease reconciles.
	// controller-runtime names the holder by the host name (the pod's
	// name) and a random suffix.
	LeaderElect                               bool
	Lease                                     string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Metrics is where every policy's metrics are registered, labelled
	// with the policy.
	Metrics prometheus.Registerer
	Log     *slog.Logger
	// OnLeader is told once this replica leads.
	OnLeader func()
}

// Run reconciles the namespace's policies until ctx is done, or until this
// replica loses the Lease (an error: the process should end and start
// again, as controller-runtime's managers do).
func Run(ctx context.Context, cfg Config) error {
	ctrl.SetLogger(logr.FromSlogHandler(cfg.Log.Handler()))
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	rc := rest.CopyConfig(cfg.RESTConfig)
	rc.UserAgent = "burster"
	mgr, err := ctrl.NewManager(rc, manager.Options{
		Scheme: scheme,
		Cache:  cache.Options{DefaultNamespaces: map[string]cache.Config{cfg.Namespace: {}}},
		// The burster's own server serves /metrics (the policies' and
		// the manager's) and the probes.
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                cfg.LeaderElect,
		LeaderElectionID:              cfg.Lease,
		LeaderElectionNamespace:       cfg.Namespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &cfg.LeaseDuration,
		RenewDeadline:                 &cfg.RenewDeadline,
		RetryPeriod:                   &cfg.RetryPeriod,
		// A replica that stops releases the Lease for a standby.
		GracefulShutdownTimeout: ptr(10 * time.Second),
		Client:                  client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	r, err := newReconciler(ctx, mgr, cfg)
	if err != nil {
		return err
	}
	defer r.stopAll()
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	go func() {
		select {
		case <-mgr.Elected():
			cfg.Log.Info("leading: reconciling the policies", "namespace", cfg.Namespace)
			if cfg.OnLeader != nil {
				cfg.OnLeader()
			}
		case <-ctx.Done():
		}
	}()
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("the manager stopped: %w", err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
