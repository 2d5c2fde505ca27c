// Package election makes one burster replica the writer: replicas compete
// for a coordination.k8s.io Lease; the holder runs the controller, the others
// wait. A replica that stops (SIGTERM) releases the Lease, so a standby takes
// over within one retry period instead of waiting for the Lease to expire.
package election

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Config configures the election.
type Config struct {
	Client    kubernetes.Interface
	Namespace string
	Lease     string // the Lease's name; the shipped Role allows only "burster"
	Identity  string // unique per replica, e.g. the pod name
	// A standby takes over at most LeaseDuration after the leader dies
	// without releasing; the leader gives up if it cannot renew within
	// RenewDeadline; candidates retry every RetryPeriod.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Log                                       *slog.Logger
	// OnLeader is told when this replica gains and loses the Lease.
	OnLeader func(bool)
}

// Run runs lead while this replica holds the Lease, and competes again after
// losing it, until ctx is done. lead's context is cancelled when the Lease is
// lost; Run does not compete again before lead has returned, so two writers
// never overlap within this process.
func Run(ctx context.Context, cfg Config, lead func(context.Context)) error {
	var (
		mu      sync.Mutex
		running chan struct{}
	)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Lease},
			Client:     cfg.Client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
		},
		LeaseDuration:   cfg.LeaseDuration,
		RenewDeadline:   cfg.RenewDeadline,
		RetryPeriod:     cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            cfg.Lease,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) {
				done := make(chan struct{})
				mu.Lock()
				running = done
				mu.Unlock()
				defer close(done)
				cfg.Log.Info("leading", "identity", cfg.Identity)
				cfg.OnLeader(true)
				lead(lctx)
			},
			OnStoppedLeading: func() {
				cfg.OnLeader(false)
				cfg.Log.Info("not leading", "identity", cfg.Identity)
			},
			OnNewLeader: func(id string) {
				if id != cfg.Identity {
					cfg.Log.Info("another replica leads", "leader", id)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("configuring leader election: %w", err)
	}
	for ctx.Err() == nil {
		le.Run(ctx)
		mu.Lock()
		done := running
		running = nil
		mu.Unlock()
		if done != nil {
			<-done
		}
	}
	return nil
}
