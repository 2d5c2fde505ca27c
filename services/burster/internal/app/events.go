package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
)

// refTimeout bounds the one lookup of the routing object events refer to.
const refTimeout = 5 * time.Second

// objectEvents records Kubernetes events on the routing object, so that
// `kubectl describe virtualservice worker` (or `httproute worker`) shows
// what the burster did.
type objectEvents struct {
	rec record.EventRecorder
	ref func(context.Context) (*corev1.ObjectReference, error)
	log *slog.Logger

	mu     sync.Mutex
	cached *corev1.ObjectReference
}

func (e *objectEvents) Event(eventtype, reason, message string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cached == nil {
		ctx, cancel := context.WithTimeout(context.Background(), refTimeout)
		ref, err := e.ref(ctx)
		cancel()
		if err != nil {
			e.log.Warn("cannot record event", "reason", reason, "err", err)
			return
		}
		e.cached = ref
	}
	e.rec.Event(e.cached, eventtype, reason, message)
}
