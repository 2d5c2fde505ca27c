// Package operator runs every BurstPolicy in a namespace on
// controller-runtime: the manager's leader election picks the one replica
// that writes, its cache watches the policies and the routes they name, and
// a reconcile per policy per interval steps the policy's Runner and writes
// what it knows into the policy's status. A change to a route brings its
// policy's reconcile at once, so weights someone else moved are put back.
package operator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
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

// Operator runs the namespace's policies.
type Operator struct {
	cfg Config
	mgr manager.Manager
	r   *reconciler
}

// New builds the operator: its manager, cache and reconciler. The
// Runners' background work lives as long as ctx.
func New(ctx context.Context, cfg Config) (*Operator, error) {
	ctrl.SetLogger(logr.FromSlogHandler(cfg.Log.Handler()))
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
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
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	r, err := newReconciler(ctx, mgr, cfg)
	if err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	return &Operator{cfg: cfg, mgr: mgr, r: r}, nil
}

// Run reconciles the namespace's policies until ctx is done, or until this
// replica loses the Lease (an error: the process should end and start
// again, as controller-runtime's managers do).
func (o *Operator) Run(ctx context.Context) error {
	cfg, mgr := o.cfg, o.mgr
	defer o.r.stopAll()
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

// ErrNotFound: no such policy in the namespace.
var ErrNotFound = errors.New("no such policy")

// ErrAmbiguous: no policy was named, and the namespace has not exactly one.
var ErrAmbiguous = errors.New("name a policy")

// Policy is the named policy ("": the namespace's only one) as this
// replica knows it, with its recent changes, and whether this replica
// leads. The leader's status is its Runner's, live; a standby's is the
// one the leader last wrote, read from the cache, and its changes are the
// status' own.
func (o *Operator) Policy(ctx context.Context, name string) (*v1alpha1.BurstPolicy, []v1alpha1.Change, bool, error) {
	c := o.mgr.GetClient()
	var p v1alpha1.BurstPolicy
	if name == "" {
		var list v1alpha1.BurstPolicyList
		if err := c.List(ctx, &list, client.InNamespace(o.cfg.Namespace)); err != nil {
			return nil, nil, false, fmt.Errorf("listing the policies: %w", err)
		}
		if len(list.Items) != 1 {
			return nil, nil, false, fmt.Errorf("%w: namespace %s has %d", ErrAmbiguous, o.cfg.Namespace, len(list.Items))
		}
		p = list.Items[0]
	} else if err := c.Get(ctx, types.NamespacedName{Namespace: o.cfg.Namespace, Name: name}, &p); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, false, fmt.Errorf("%w: %s in namespace %s", ErrNotFound, name, o.cfg.Namespace)
		}
		return nil, nil, false, fmt.Errorf("reading policy %s: %w", name, err)
	}
	p.APIVersion, p.Kind = v1alpha1.GroupVersion.String(), v1alpha1.Kind
	p.ManagedFields = nil
	changes := p.Status.Changes
	leader := o.leading()
	if run := o.r.runner(types.NamespacedName{Namespace: p.Namespace, Name: p.Name}, p.Generation); leader && run != nil {
		p.Status, changes = run.Status(p.Status, p.Generation), run.Changes()
	}
	return &p, changes, leader, nil
}

// leading reports whether this replica holds the Lease (always, without
// leader election).
func (o *Operator) leading() bool {
	select {
	case <-o.mgr.Elected():
		return true
	default:
		return false
	}
}
