package app

import (
	"context"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
)

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
		ref, err := e.ref(context.Background()) // the router bounds it by QUERY_TIMEOUT
		if err != nil {
			e.log.Warn("cannot record event", "reason", reason, "err", err)
			return
		}
		e.cached = ref
	}
	e.rec.Event(e.cached, eventtype, reason, message)
}
