// Package controller runs the burster's loop: measure the rate, ask the
// policy, write the weights through the router, and tell people (logs,
// Kubernetes events, metrics). It also puts the weights back when someone
// else changes them. Only the leader runs it.
package controller

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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
	// Latency, when not nil, measures each destination's requests and the
	// good ones over the SLO window, after each rate: the slo strategy
	// decides from it; under another it is for the status only.
	Latency source.Latency
	// SLO is the objective, for the status; set with Latency.
	SLO *SLO
	// Budget and Security, when not nil, measure each destination's error
	// budget and how its requests travel, for the status.
	Budget   source.BudgetSource
	Security source.SecuritySource
	// Capacity, when not nil, is primary's live capacity, which the
	// policy gets with each rate.
	Capacity Capacity
	// Burst, when not nil, is the burst cluster's ready workers: no weight
	// goes there while it has none.
	Burst BurstReadiness
	// BurstCapacity is what spillover fills burst to before a further
	// destination takes the rest; unset: not limited.
	BurstCapacity AwayCapacity
	// Further are the destinations after burst, in spill order (a third
	// cluster on): spillover and slo.
	Further []Further
	// Prescale, when not nil, raises the burst cluster's workers ahead of
	// a burst and puts them back after it (needs Burst); a further
	// destination's is its Further.Prescale.
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

// AwayCapacity is what a destination after home carries under spillover
// before the next one takes the rest: a configured rate, or its ready
// endpoints × a rate per endpoint. The zero AwayCapacity is unlimited.
type AwayCapacity struct {
	RPS            *float64
	PerEndpointRPS float64
}

// of is the capacity of a destination with ready as its readiness (nil:
// not read); nil: unlimited.
func (a AwayCapacity) of(ready *Burst) *float64 {
	switch {
	case a.RPS != nil:
		return a.RPS
	case a.PerEndpointRPS > 0 && ready != nil && ready.Reachable:
		rps := float64(ready.ReadyEndpoints) * a.PerEndpointRPS
		return &rps
	}
	return nil
}

// Further is a destination after burst.
type Further struct {
	Name     string
	Ready    BurstReadiness // nil: not read, so not gated
	Capacity AwayCapacity   // ignored for the last destination, which takes the rest
	Prescale *Prescale      // nil: not pre-scaled; else needs Ready
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

	// The report beside the loop (status.go): one at a time, each waited
	// for before the term ends; failing is what it last told of each
	// destination (primary, burst), and is its own.
	reporting atomic.Bool
	reports   sync.WaitGroup
	failing   [2]bool

	mu           sync.Mutex // guards what Snapshot reads; the loop owns term
	budget       budgetReading
	weights      *split.Split
	observed     *float64
	destinations *Destinations
	capacity     *HomeCapacity
	burst        *Burst
	further      []*Burst
	slo          *SLO
	security     *Security
	routerErr    string // the class of the last router call's failure; "" after a success
	rateErr      error  // the class of the last rate's failure; nil after a success
	lastChange   time.Time
	learned      float64
}

// term is everything the loop holds for one leader term. Each term starts
// from a zero term and what the world says (start): another replica may
// have led in between, moved the weights, or restored the burst HPA, so
// nothing a past term believed is carried over.
type term struct {
	state      policy.State    // the weights as decided, the dwell, failures in a row
	blocked    []string        // the destinations kept off for want of a ready worker, as last reported
	furtherErr []string        // the class of each further destination's readiness failure, as last logged
	pre        []prescaleState // each destination's pre-scaling, by its index (1: burst)
	latencyErr error           // the class of the latency's last failure, as last logged
}

// Snapshot is what the controller knows now, for status pages.
type Snapshot struct {
	Weights      *split.Split  // nil until read from the router
	ObservedRPS  *float64      // nil when the last measurement failed
	Destinations *Destinations // nil when not measured
	Capacity     *HomeCapacity // nil when not measured
	Burst        *Burst        // nil when not read
	Further      []*Burst      // the destinations after burst, as Config.Further; nil when not read
	SLO          *SLO          // nil unless the service level is measured
	Security     *Security     // nil unless measured
	RouterError  string        // the class of the last router call's failure; "" when it succeeded
	RateError    error         // the class of the last rate's failure (source.Classify); nil when measured
	// LastChange is when the weights last changed in this term, or as
	// resumed; zero when not known.
	LastChange time.Time
	// LearnedCapacityRPS is the capacity slo measured (or resumed); 0:
	// none.
	LearnedCapacityRPS float64
}

// New returns a Controller.
func New(cfg Config) *Controller {
	if cfg.Events == nil {
		cfg.Events = noEvents{}
	}
	return &Controller{cfg: cfg, now: time.Now}
}

// Run controls the weights until ctx is done. It starts from the weights the
// router reports, so a new leader continues where the last one stopped.
func (c *Controller) Run(ctx context.Context) error {
	defer c.waitReports()
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
			c.Tick(ctx)
			if !watch.up && ctx.Err() == nil {
				c.CheckDrift(ctx)
			}
		case o := <-drift:
			if watch.saw(o, c.cfg.Log) {
				c.correct(ctx, o)
			}
		}
	}
}

// start begins the term, retrying each interval while the router cannot
// answer.
func (c *Controller) start(ctx context.Context) error {
	for {
		err := c.Begin(ctx)
		if err == nil {
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

// Begin starts a term from the weights the router reports, forgetting what
// an earlier term believed. Weights that are not a valid split are repaired
// to all primary. An error is the router's: the caller tries again.
func (c *Controller) Begin(ctx context.Context) error {
	cur, err := c.cfg.Router.Get(ctx)
	c.routed(ctx, err)
	if err != nil && !errors.Is(err, router.ErrInconsistent) {
		return err
	}
	if cur.Validate() != nil {
		cur = cur.WithWeights(100) // all home
		if cur.Validate() != nil {
			cur = split.AllPrimary
		}
	}
	c.term, c.failing = term{state: policy.State{Weights: cur}}, [2]bool{}
	c.cfg.Metrics.burstBlocked.Set(0)
	for i := 1; i < cur.Len(); i++ {
		if c.prescaled(i) != nil {
			c.cfg.Metrics.prescale(i, cur.Name(i), 0)
		}
	}
	c.mu.Lock()
	c.destinations, c.security, c.budget = nil, nil, budgetReading{}
	c.mu.Unlock()
	c.publish(nil, nil, nil, nil, nil)
	c.cfg.Metrics.weights(cur)
	c.cfg.Log.Info("controlling weights", "weights", cur.String(), "dryRun", c.cfg.DryRun)
	if err != nil {
		c.correct(ctx, observed{cur, err})
	}
	return nil
}

// Resume carries into the term what an earlier leader recorded (in the
// BurstPolicy's status), so that this one continues where it stopped:
// when the weights last changed, from which the dwell counts, and the
// capacity slo measured (0: none). Call it after Begin.
func (c *Controller) Resume(lastChange time.Time, capacityRPS float64) {
	c.term.state.LastChange = lastChange
	if capacityRPS > 0 {
		c.term.state.SLO.CapacityRPS, c.term.state.SLO.Measured = capacityRPS, true
	}
	c.mu.Lock()
	c.lastChange, c.learned = c.term.state.LastChange, learned(c.term.state)
	c.mu.Unlock()
}

// learned is the capacity slo measured in s; 0: none.
func learned(s policy.State) float64 {
	if s.SLO.Measured {
		return s.SLO.CapacityRPS
	}
	return 0
}

// CheckDrift reads the routes back and puts the decided weights back when
// they show others: for a caller that learns of changes itself (a watch of
// its own), or has none.
func (c *Controller) CheckDrift(ctx context.Context) {
	cur, err := c.cfg.Router.Get(ctx)
	c.correct(ctx, observed{cur, err})
}

// Wait waits for the status measurements in flight, if any: call it once
// the context the ticks ran under is done.
func (c *Controller) Wait() { c.waitReports() }

// Tick is one turn of the loop: observe (observe.go), decide (the policy),
// act (act.go), publish what was seen (report.go), and only then start the
// measurements that feed the status alone (status.go), which run under ctx
// beyond the turn.
func (c *Controller) Tick(ctx context.Context) {
	rps, err := c.cfg.Source.Rate(ctx)
	if ctx.Err() != nil {
		return // shutting down or lost the lease: not a measurement
	}
	c.cfg.Metrics.observe(rps, err)
	if err != nil {
		c.cfg.Log.Warn("no rate measured", "err", err)
	}
	c.mu.Lock()
	c.rateErr = source.Classify(err)
	c.mu.Unlock()
	obs, capacity, burst, further, latencyErr := c.observe(ctx, rps, err)
	next, d := c.cfg.Policy.Next(c.term.state, obs)
	var measured *float64
	if err == nil {
		measured = &rps
	}
	c.burstGate(d, burst, further)
	c.act(ctx, next, d, measured)
	if burst != nil {
		burst.Blocked = slices.Contains(c.term.blocked, split.Burst)
		burst.PrescaledTo = c.raisedTo(1)
	}
	for i, f := range further {
		if f != nil {
			f.Blocked = slices.Contains(c.term.blocked, c.cfg.Further[i].Name)
			f.PrescaledTo = c.raisedTo(i + 2)
		}
	}
	c.publish(measured, capacity, burst, further, c.sloStatus(d.SLO, latencyErr))
	if ctx.Err() == nil {
		c.startReport(ctx, c.term.state.Weights)
	}
}

// Stranded reports whether a destination after home carries traffic yet
// has no ready worker, by its readiness read now: its share should leave it
// before the next step is due. A readiness that cannot be read says
// nothing here (the step counts it as not ready). Call it between Ticks,
// from the goroutine that calls them.
func (c *Controller) Stranded(ctx context.Context) bool {
	w := c.term.state.Weights
	none := func(r BurstReadiness, i int) bool {
		if r == nil || w.Weight(i) == 0 {
			return false
		}
		n, err := r.Ready(ctx)
		return err == nil && n == 0
	}
	if none(c.cfg.Burst, 1) {
		return true
	}
	for i, f := range c.cfg.Further {
		if none(f.Ready, i+2) {
			return true
		}
	}
	return false
}

type noEvents struct{}

func (noEvents) Event(string, string, string) {}
