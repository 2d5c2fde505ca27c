package app

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/rest"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/health"
	"github.com/cloudburst-demo/cloudburst/pkg/server"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/config"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/controller"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/operator"
)

// managerMetrics are controller-runtime's metrics (its workqueue, its
// reconciles, its client's requests, the leader election) but the Go
// runtime's and the process's, which the server's registry has already.
var managerMetrics = prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
	mfs, err := ctrlmetrics.Registry.Gather()
	return slices.DeleteFunc(mfs, func(mf *dto.MetricFamily) bool {
		return strings.HasPrefix(mf.GetName(), "go_") || strings.HasPrefix(mf.GetName(), "process_")
	}), err
})

// ServePolicies runs every BurstPolicy in namespace ns of the API server rc
// reaches (POLICIES=kubernetes) until ctx is done or this replica loses
// the Lease: the HTTP server (probes, the status API, and on /metrics each
// policy's metrics labelled with it beside the manager's) and the operator.
func ServePolicies(ctx context.Context, cfg config.Config, log *slog.Logger, rc *rest.Config, ns string) error {
	srv := server.New(Service, cfg.Config, log, health.New())
	srv.AlsoGather(managerMetrics)
	leader := controller.NewLeaderMetric(srv.Registry)
	log.Info("starting", "policies", cfg.Policies, "namespace", ns, "leaderElect", cfg.LeaderElect)

	// The server first: the probes and the status API answer while the
	// operator still waits for its API server.
	src := &lateSource{}
	registerAPI(srv.Echo, src)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(ctx) })
	g.Go(func() error {
		op, err := operator.New(ctx, operator.Config{
			RESTConfig: rc, Namespace: ns, LeaderElect: cfg.LeaderElect, Lease: cfg.LeaseName,
			LeaseDuration: cfg.LeaseDuration, RenewDeadline: cfg.RenewDeadline, RetryPeriod: cfg.RetryPeriod,
			Metrics: srv.Registry, Log: log, OnLeader: func() { leader.Set(1) },
		})
		if err != nil {
			return err
		}
		src.op.Store(op)
		return op.Run(ctx)
	})
	return g.Wait()
}

// errStarting: the operator is not built yet (its API server has not
// answered which routes it serves).
var errStarting = errors.New("starting: the Kubernetes API has not answered yet")

// lateSource serves the operator's policies once it is built.
type lateSource struct {
	op atomic.Pointer[operator.Operator]
}

func (l *lateSource) Policy(ctx context.Context, name string) (*v1alpha1.BurstPolicy, []v1alpha1.Change, bool, error) {
	op := l.op.Load()
	if op == nil {
		return nil, nil, false, errStarting
	}
	return op.Policy(ctx, name)
}
