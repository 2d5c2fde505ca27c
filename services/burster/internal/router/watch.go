package router

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// resync is how often the informer hands the object it holds to the handler
// again, a check of last resort on top of the watch.
const resync = 10 * time.Minute

// Watch reports the split after every change of the one object. The
// informer lists and watches with a field selector on its name, which a
// Role limited to that name by resourceNames permits. Each list, and each
// watch until the API server answers it, is bounded by the router's
// timeout: a hung API server fails them, and the failure is reported
// (ErrWatchDown) while the informer tries again. A watch, once answered,
// lasts as long as the API server keeps it (minutes).
func (r *Object) Watch(ctx context.Context, onChange func(split.Split, error)) error {
	inf := cache.NewSharedIndexInformer(r.listWatch(), &unstructured.Unstructured{}, resync, cache.Indexers{})
	report := func(o any) {
		if u, ok := o.(*unstructured.Unstructured); ok {
			onChange(r.read(u))
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    report,
		UpdateFunc: func(_, o any) { report(o) },
	}); err != nil {
		return fmt.Errorf("watching %s: %w", r, err)
	}
	// The informer lists and watches again by itself, with backoff; meanwhile
	// the caller must not rely on it, so every failure is reported.
	if err := inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, rf *cache.Reflector, err error) {
		onChange(split.Split{}, fmt.Errorf("%w: %s: %w", ErrWatchDown, r, err))
		cache.DefaultWatchErrorHandler(ctx, rf, err)
	}); err != nil {
		return fmt.Errorf("watching %s: %w", r, err)
	}
	inf.RunWithContext(ctx)
	return nil
}

// listWatch lists and watches the one object, each call bounded as Watch
// says.
func (r *Object) listWatch() *cache.ListWatch {
	byName := fields.OneTermEqualSelector("metadata.name", r.name).String()
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = byName
			ctx, cancel := context.WithTimeout(ctx, r.timeout)
			defer cancel()
			return r.resource().List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = byName
			return answeredWithin(ctx, r.timeout, func(ctx context.Context) (watch.Interface, error) {
				return r.resource().Watch(ctx, o)
			})
		},
	}
}

// answeredWithin starts a watch and gives up on it when the API server has
// not answered within timeout. Once answered, the watch runs until it ends
// or ctx is done.
func answeredWithin(ctx context.Context, timeout time.Duration, start func(context.Context) (watch.Interface, error)) (watch.Interface, error) {
	ctx, cancel := context.WithCancel(ctx)
	late := time.AfterFunc(timeout, cancel)
	w, err := start(ctx)
	if !late.Stop() { // the timer fired: not answered in time
		if w != nil {
			w.Stop()
		}
		cancel()
		return nil, fmt.Errorf("the watch was not answered within %s: %w", timeout, context.DeadlineExceeded)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	return &cancelOnStop{Interface: w, cancel: cancel}, nil
}

// cancelOnStop releases the watch's context when the watch is stopped.
type cancelOnStop struct {
	watch.Interface
	cancel context.CancelFunc
}

func (w *cancelOnStop) Stop() {
	w.Interface.Stop()
	w.cancel()
}
