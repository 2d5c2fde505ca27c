// Package controller runs the burster's loop: measure the rate, ask the
// policy, write the weights through the router, and tell people (logs,
// Kubernetes events, metrics). It also puts the weights back when someone
// else changes them. Only the leader runs it.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

// Recorder emits events about the routed object (a Kubernetes event on the
// VirtualService or HTTPRoute, for the routers in the Kubernetes API).
type Recorder interface {
	Event(eventtype, reason, message string)
}

// Config wires a Controller.
type Config struct {
	Source source.Source
	// Destinations, when not nil, measures each destination's traffic
	// after each rate, so that one answering only errors is reported.
	Destinations source.DestinationSource
	// Capacity, when not nil, is primary's live capacity, which the
	// policy gets with each rate.
	Capacity Capacity
	// Burst, when not nil, is the burst cluster's ready workers: no weight
	// goes there while it has none.
	Burst BurstReadiness
	// Prescale, when not nil, raises the burst cluster's workers ahead of
	// a burst and puts them back after it (needs Burst).
	Prescale *Prescale
	Router   router.Router
	Policy   *policy.Policy
	Events   Recorder // nil: logs only
	Metrics  *Metrics
	Interval time.Duration
	DryRun   bool // decide and report, never write
	Log      *slog.Logger
}

// Capacity measures primary's capacity: ready endpoints × the rate one
// serves. An error means it is unknown, which is never read as zero.
type Capacity interface {
	Capacity() (rps float64, ready int, err error)
}

// BurstReadiness counts the burst cluster's ready workers. An error (its
// API cannot be reached) counts as none.
type BurstReadiness interface {
	Ready(ctx context.Context) (int, error)
}

// ErrCapacityUnknown is the class of a failed capacity measurement, for
// reasons shown on the page.
var ErrCapacityUnknown = errors.New("primary's ready workers are not known")

// Controller is the burster's control loop.
type Controller struct {
	cfg     Config
	term    term
	history history
	now     func() time.Time

	mu           sync.Mutex // guards what Snapshot reads; the loop owns term
	weights      *split.Split
	observed     *float64
	destinations *bursterapi.Destinations
	capacity     *bursterapi.Capacity
	burst        *bursterapi.Burst
	routerErr    string // the class of the last router call's failure; "" after a success
}

// term is everything the loop holds for one leader term. Each term starts
// from a zero term and what the world says (start): another replica may
// have led in between, moved the weights, or restored the burst HPA, so
// nothing a past term believed is carried over.
type term struct {
	state        policy.State // the weights as decided, the dwell, failures in a row
	failing      [2]bool      // primary, burst: as last reported
	burstBlocked bool         // weights kept off burst: as last reported
	pre          prescaleState
}

// Snapshot is what the controller knows now, for status pages.
type Snapshot struct {
	Weights      *split.Split             // nil until read from the router
	ObservedRPS  *float64                 // nil when the last measurement failed
	Destinations *bursterapi.Destinations // nil when not measured
	Capacity     *bursterapi.Capacity     // nil when not measured
	Burst        *bursterapi.Burst        // nil when not read
	RouterError  string                   // the class of the last router call's failure; "" when it succeeded
}

// Snapshot returns the current weights and the last measurements.
func (c *Controller) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Snapshot{Weights: c.weights, ObservedRPS: c.observed, Destinations: c.destinations, Capacity: c.capacity, Burst: c.burst,
		RouterError: c.routerErr}
}

// routed records how a call to the router ended, for the status: a read
// that finds the routes disagreeing succeeded. A call cut short by the end
// of the term says nothing about the router.
func (c *Controller) routed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	if errors.Is(err, router.ErrInconsistent) {
		err = nil
	}
	c.mu.Lock()
	c.routerErr = router.Classify(err)
	c.mu.Unlock()
}

// publish makes the loop's view visible to Snapshot.
func (c *Controller) publish(rps *float64, dests *bursterapi.Destinations, capacity *bursterapi.Capacity, burst *bursterapi.Burst) {
	w := c.term.state.Weights
	c.mu.Lock()
	c.weights, c.observed, c.destinations, c.capacity, c.burst = &w, rps, dests, capacity, burst
	c.mu.Unlock()
}

// New returns a Controller.
func New(cfg Config) *Controller {
	if cfg.Events == nil {
		cfg.Events = noEvents{}
	}
	return &Controller{cfg: cfg, now: time.Now}
}

// Changes returns the recent weight changes, oldest first.
func (c *Controller) Changes() []bursterapi.Change { return c.history.list() }

// Run controls the weights until ctx is done. It starts from the weights the
// router reports, so a new leader continues where the last one stopped.
func (c *Controller) Run(ctx context.Context) error {
	if err := c.start(ctx); err != nil {
		return err
	}
	// Drift: a router that can watch reports every change; any other, and
	// one whose watch is down, is read back once per interval. Either way a
	// change made by someone else is found and put back.
	drift := make(chan observed, 1)
	if w, ok := c.cfg.Router.(router.Watcher); ok {
		go c.watch(ctx, w, drift)
	}
	var watch watchState
	ticker := time.NewTicker(c.cfg.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			c.tick(ctx)
			if !watch.up && ctx.Err() == nil {
				cur, err := c.cfg.Router.Get(ctx)
				c.correct(ctx, observed{cur, err})
			}
		case o := <-drift:
			if watch.saw(o, c.cfg.Log) {
				c.correct(ctx, o)
			}
		}
	}
}

// start reads the current weights, retrying each interval while the router
// cannot answer. Weights that are not a valid split are repaired to all
// primary.
func (c *Controller) start(ctx context.Context) error {
	for {
		cur, err := c.cfg.Router.Get(ctx)
		c.routed(ctx, err)
		if err == nil || errors.Is(err, router.ErrInconsistent) {
			if cur.Validate() != nil {
				cur = split.AllPrimary
			}
			c.term = term{state: policy.State{Weights: cur}}
			c.cfg.Metrics.burstBlocked.Set(0)
			c.cfg.Metrics.prescaled.Set(0)
			c.publish(nil, nil, nil, nil)
			c.cfg.Metrics.weights(cur)
			c.cfg.Log.Info("controlling weights", "weights", cur.String(), "dryRun", c.cfg.DryRun)
			if err != nil {
				c.correct(ctx, observed{cur, err})
			}
			return nil
		}
		c.cfg.Log.Error("reading the current weights", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(c.cfg.Interval):
		}
	}
}

// tick measures once and applies the policy's decision.
func (c *Controller) tick(ctx context.Context) {
	rps, err := c.cfg.Source.Rate(ctx)
	if ctx.Err() != nil {
		return // shutting down or lost the lease: not a measurement
	}
	c.cfg.Metrics.observe(rps, err)
	if err != nil {
		c.cfg.Log.Warn("no rate measured", "err", err)
	}
	obs, capacity, burst := c.observe(ctx, rps, err)
	next, d := c.cfg.Policy.Next(c.term.state, obs)
	var measured *float64
	if err == nil {
		measured = &rps
	}
	dests := c.measureDestinations(ctx)
	defer func() {
		if burst != nil {
			burst.Blocked = c.term.burstBlocked
			burst.PrescaledTo = c.term.pre.raised
		}
		c.publish(measured, dests, capacity, burst)
	}()
	c.burstGate(d, burst)
	if !d.Changed {
		c.term.state = next
		if d.FailSafe {
			c.report(corev1.EventTypeWarning, bursterapi.FailSafe, c.term.state.Weights, d, measured)
		}
		return
	}
	from := c.term.state.Weights
	if c.cfg.DryRun {
		c.term.state = next
		c.report(corev1.EventTypeNormal, bursterapi.DryRun, from, d, measured)
		return
	}
	_, setErr := c.cfg.Router.Set(ctx, d.Weights)
	c.routed(ctx, setErr)
	if setErr != nil {
		// Not applied: keep the old weights so the next tick decides again.
		next.Weights, next.LastChange = c.term.state.Weights, c.term.state.LastChange
		c.term.state = next
		c.cfg.Log.Error("changing weights", "from", from.String(), "to", d.Weights.String(), "err", setErr)
		c.cfg.Events.Event(corev1.EventTypeWarning, "UpdateFailed",
			fmt.Sprintf("could not change %v -> %v (%s): %v", from, d.Weights, d.Reason, setErr))
		return
	}
	c.term.state = next
	c.cfg.Metrics.weights(d.Weights)
	c.cfg.Metrics.changes.Inc()
	if d.BurstNotReady {
		c.report(corev1.EventTypeWarning, bursterapi.BurstNotReady, from, d, measured)
	} else if d.FailSafe {
		c.report(corev1.EventTypeWarning, bursterapi.FailSafe, from, d, measured)
	} else {
		c.report(corev1.EventTypeNormal, bursterapi.WeightsChanged, from, d, measured)
	}
}

// observe gathers what the policy decides from: the rate (or its error's
// class: the decision's reason reaches events, the status and the page; the
// detail is in the log), primary's capacity and the burst cluster's
// readiness when configured, and whether burst is still scaling up.
func (c *Controller) observe(ctx context.Context, rps float64, err error) (policy.Observation, *bursterapi.Capacity, *bursterapi.Burst) {
	obs := policy.Observation{At: c.now(), RPS: rps, Err: source.Classify(err)}
	capacity := c.measureCapacity()
	switch {
	case capacity != nil:
		obs.CapacityRPS = &capacity.RPS
	case c.cfg.Capacity != nil && obs.Err == nil:
		obs.Err = ErrCapacityUnknown // hold: unknown is not zero
	}
	burst := c.readBurst(ctx)
	if burst != nil {
		ready := burst.ReadyEndpoints > 0
		obs.BurstReady = &ready
	}
	if err == nil {
		obs.BurstWarming = c.prescale(ctx, rps, burst)
	}
	return obs, capacity, burst
}

// readBurst counts the burst cluster's ready workers, when configured. Nil:
// not read. An unreachable API counts as none.
func (c *Controller) readBurst(ctx context.Context) *bursterapi.Burst {
	if c.cfg.Burst == nil {
		return nil
	}
	n, err := c.cfg.Burst.Ready(ctx)
	c.cfg.Metrics.burst(n, err)
	if err != nil {
		if ctx.Err() == nil {
			c.cfg.Log.Warn("the burst cluster's readiness unknown: counted as not ready", "err", err)
		}
		return &bursterapi.Burst{}
	}
	return &bursterapi.Burst{ReadyEndpoints: n, Reachable: true}
}

// burstGate reports, once each, that burst is kept off for want of a ready
// worker (a decision that moved the weights back is reported with them)
// and that it is ready again.
func (c *Controller) burstGate(d policy.Decision, burst *bursterapi.Burst) {
	switch {
	case d.BurstNotReady && !c.term.burstBlocked:
		c.term.burstBlocked = true
		c.cfg.Metrics.burstBlocked.Set(1)
		if !d.Changed {
			c.note(corev1.EventTypeWarning, bursterapi.BurstNotReady, d.Reason)
		}
	case c.term.burstBlocked && burst != nil && burst.ReadyEndpoints > 0:
		c.term.burstBlocked = false
		c.cfg.Metrics.burstBlocked.Set(0)
		c.note(corev1.EventTypeNormal, bursterapi.BurstReady,
			fmt.Sprintf("the burst cluster has ready workers again (%d)", burst.ReadyEndpoints))
	}
}

// measureCapacity reads primary's capacity, when configured. Nil: not
// measured.
func (c *Controller) measureCapacity() *bursterapi.Capacity {
	if c.cfg.Capacity == nil {
		return nil
	}
	rps, ready, err := c.cfg.Capacity.Capacity()
	c.cfg.Metrics.capacity(rps, ready, err)
	if err != nil {
		c.cfg.Log.Warn("primary's capacity unknown", "err", err)
		return nil
	}
	return &bursterapi.Capacity{RPS: rps, ReadyEndpoints: ready}
}

// failingShare is the share of a destination's requests that must fail for
// it to be reported failing.
const failingShare = 0.5

// measureDestinations measures each destination's traffic, when configured, and
// reports a destination that starts or stops failing. Nil: not measured.
func (c *Controller) measureDestinations(ctx context.Context) *bursterapi.Destinations {
	if c.cfg.Destinations == nil {
		return nil
	}
	d, err := c.cfg.Destinations.Destinations(ctx)
	c.cfg.Metrics.destinations(d, err)
	if err != nil {
		if ctx.Err() == nil {
			c.cfg.Log.Warn("no destination traffic measured", "err", err)
		}
		return nil
	}
	out := &bursterapi.Destinations{Primary: health(d.Primary), Burst: health(d.Burst)}
	for i, h := range []struct {
		name string
		d    bursterapi.Destination
	}{{source.Primary, out.Primary}, {source.Burst, out.Burst}} {
		if h.d.Failing == c.term.failing[i] {
			continue
		}
		c.term.failing[i] = h.d.Failing
		traffic := fmt.Sprintf("%.1f of %.1f req/s failed", h.d.FailedRPS, h.d.RPS)
		if h.d.Failing {
			c.note(corev1.EventTypeWarning, bursterapi.DestinationFailing,
				fmt.Sprintf("%s is failing: %s (5xx or no answer); its requests still count as load", h.name, traffic))
		} else {
			c.note(corev1.EventTypeNormal, bursterapi.DestinationRecovered, fmt.Sprintf("%s recovered: %s", h.name, traffic))
		}
	}
	return out
}

// health judges one destination's traffic.
func health(t source.Traffic) bursterapi.Destination {
	return bursterapi.Destination{
		RPS: t.RPS, FailedRPS: t.FailedRPS,
		Failing: t.RPS > 0 && t.FailedRPS >= failingShare*t.RPS,
	}
}

// note tells people about something that is not a weight change: a log
// line, a Kubernetes event and an entry in the history at the current
// weights.
func (c *Controller) note(eventtype string, kind bursterapi.Kind, msg string) {
	level := slog.LevelInfo
	if eventtype == corev1.EventTypeWarning {
		level = slog.LevelWarn
	}
	w := c.term.state.Weights
	c.cfg.Log.Log(context.Background(), level, msg, "kind", kind, "weights", w.String())
	c.cfg.Events.Event(eventtype, string(kind), msg)
	c.history.add(bursterapi.Change{At: c.now(), From: w, To: w, Reason: msg, Kind: kind})
}

// report tells people about a decision once: a log line, a Kubernetes event
// and an entry in the history.
func (c *Controller) report(eventtype string, kind bursterapi.Kind, from split.Split, d policy.Decision, rps *float64) {
	msg := fmt.Sprintf("%v -> %v: %s", from, d.Weights, d.Reason)
	switch kind {
	case bursterapi.DryRun:
		msg = "would change " + msg
	case bursterapi.FailSafe:
		if from == d.Weights {
			msg = d.Reason
		}
	}
	level := slog.LevelInfo
	if eventtype == corev1.EventTypeWarning {
		level = slog.LevelError
	}
	c.cfg.Log.Log(context.Background(), level, msg, "kind", kind, "from", from.String(), "to", d.Weights.String(), "rps", rps)
	c.cfg.Events.Event(eventtype, string(kind), msg)
	c.history.add(bursterapi.Change{At: c.now(), From: from, To: d.Weights, RPS: rps, Reason: d.Reason, Kind: kind})
}

type noEvents struct{}

func (noEvents) Event(string, string, string) {}
