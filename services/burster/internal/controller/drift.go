package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
)

// maxWatchBackoff bounds the wait before a watch that ended is started
// again; the wait starts at one interval and doubles.
const maxWatchBackoff = 30 * time.Second

// observed is the split a router reported, or why it could not.
type observed struct {
	split split.Split
	err   error
}

// watch runs the router's watch for the term and passes on what it reports.
// A watch that ends before the term does is said to be down and started
// again, after a wait that doubles up to maxWatchBackoff.
func (c *Controller) watch(ctx context.Context, w router.Watcher, drift chan observed) {
	wait := c.cfg.Interval
	for {
		err := w.Watch(ctx, func(s split.Split, err error) { latest(drift, observed{s, err}) })
		if ctx.Err() != nil {
			return
		}
		latest(drift, observed{err: fmt.Errorf("%w: it ended (%v); starting it again in %s", router.ErrWatchDown, err, wait)})
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, maxWatchBackoff)
	}
}

// watchState is whether the watch can be relied on to report drift. Until
// its first report, and from a failure to its next report, it cannot: the
// loop reads the routes back every interval instead.
type watchState struct {
	up   bool
	down bool // a failure was logged and nothing reported since
}

// saw takes one report of the watch and says whether it is a split to
// check for drift (not a failure of the watch). It logs when the watch
// goes down and when it is back, not each retry.
func (w *watchState) saw(o observed, log *slog.Logger) bool {
	if errors.Is(o.err, router.ErrWatchDown) {
		if !w.down {
			log.Warn("the watch of the routes is down: reading them back every interval", "err", o.err)
		}
		w.up, w.down = false, true
		return false
	}
	if w.down {
		log.Info("the watch of the routes reports again")
	}
	w.up, w.down = true, false
	return true
}

// correct puts the decided weights back when the routes show others.
func (c *Controller) correct(ctx context.Context, o observed) {
	c.routed(ctx, o.err)
	want := c.term.state.Weights
	if o.err == nil && o.split == want {
		return
	}
	if o.err != nil && !errors.Is(o.err, router.ErrInconsistent) {
		c.cfg.Log.Error("reading the routes", "err", o.err)
		return
	}
	if c.cfg.DryRun {
		c.cfg.Log.Info("dry run: would restore weights", "found", o.split.String(), "want", want.String())
		return
	}
	old, err := c.cfg.Router.Set(ctx, want)
	c.routed(ctx, err)
	if err != nil {
		c.cfg.Log.Error("restoring weights", "want", want.String(), "err", err)
		return
	}
	if old == want && o.err == nil {
		return // already restored, e.g. a stale event of our own write
	}
	c.cfg.Metrics.corrections.Inc()
	c.tell(tell{level: slog.LevelWarn, kind: v1alpha1.ChangeDriftCorrected, from: old, to: want,
		reason: fmt.Sprintf("weights were changed to %v by someone else; restored %v", old, want)})
}

// latest replaces whatever is waiting in ch with v: only the newest
// observation matters.
func latest[T any](ch chan T, v T) {
	for {
		select {
		case ch <- v:
			return
		default:
			select {
			case <-ch:
			default:
			}
		}
	}
}
