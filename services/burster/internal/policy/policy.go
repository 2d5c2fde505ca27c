// Package policy decides the weights from the observed request rate. It is
// pure: no clock, no I/O; the controller passes the time in. It keeps the
// burster from flapping (hysteresis bands, a minimum dwell between changes)
// and never reads a failed or empty measurement as zero load.
package policy

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cloudburst-demo/cloudburst/services/burster/internal/split"
)

// Strategies.
const (
	Switch    = "switch"    // all to burst above High, all back below Low
	Step      = "step"      // burst share up by Step above High, down below Low
	Spillover = "spillover" // primary keeps CapacityRPS, the excess goes to burst
)

// Fail-safe modes, used after FailureThreshold consecutive failed measurements.
const (
	FailSafeHold    = "hold"    // keep the current weights
	FailSafePrimary = "primary" // send everything back to primary
)

// Config configures a Policy.
type Config struct {
	Strategy         string
	HighRPS, LowRPS  float64       // switch and step: the hysteresis band
	Step             int           // step: percent per change; spillover: rounding
	CapacityRPS      float64       // spillover: what primary keeps
	MinDwell         time.Duration // least time between two changes
	FailureThreshold int           // consecutive failures before the fail-safe
	FailSafe         string
}

// Validate reports configuration errors in terms of the settings' names.
func (c Config) Validate() error {
	var errs []error
	switch c.Strategy {
	case Switch, Step, Spillover:
	default:
		errs = append(errs, fmt.Errorf("STRATEGY %q is not one of switch, step, spillover", c.Strategy))
	}
	if c.Strategy != Spillover && !(c.LowRPS >= 0 && c.LowRPS < c.HighRPS) {
		errs = append(errs, fmt.Errorf("need 0 <= LOW_RPS < HIGH_RPS, got %v and %v", c.LowRPS, c.HighRPS))
	}
	if c.Strategy != Switch && (c.Step < 1 || c.Step > 100) {
		errs = append(errs, fmt.Errorf("STEP must be 1 to 100 percent, got %d", c.Step))
	}
	if c.Strategy == Spillover && !(c.CapacityRPS > 0) {
		errs = append(errs, fmt.Errorf("CAPACITY_RPS must be positive for spillover, got %v", c.CapacityRPS))
	}
	if c.MinDwell < 0 {
		errs = append(errs, fmt.Errorf("MIN_DWELL must not be negative, got %s", c.MinDwell))
	}
	if c.FailureThreshold < 1 {
		errs = append(errs, fmt.Errorf("FAILURE_THRESHOLD must be at least 1, got %d", c.FailureThreshold))
	}
	if c.FailSafe != FailSafeHold && c.FailSafe != FailSafePrimary {
		errs = append(errs, fmt.Errorf("FAIL_SAFE %q is not one of hold, primary", c.FailSafe))
	}
	return errors.Join(errs...)
}

// State is what the policy remembers between observations.
type State struct {
	Weights    split.Split
	LastChange time.Time // zero: no change yet, so the dwell does not apply
	Failures   int       // consecutive failed measurements
}

// Observation is one measurement: a rate, or the error that prevented it.
type Observation struct {
	At  time.Time
	RPS float64
	Err error
}

// Decision is the outcome of one observation.
type Decision struct {
	Weights  split.Split // to apply; equal to the state's when unchanged
	Changed  bool
	Reason   string
	FailSafe bool // true once, on the observation that enters the fail-safe
}

// Policy turns observations into decisions.
type Policy struct{ cfg Config }

// New returns a Policy for a validated Config.
func New(cfg Config) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Policy{cfg: cfg}, nil
}

// Next returns the new state and the decision for one observation.
func (p *Policy) Next(st State, obs Observation) (State, Decision) {
	if obs.Err != nil {
		return p.failed(st, obs)
	}
	st.Failures = 0
	target, reason := p.target(st.Weights, obs.RPS)
	if target == st.Weights {
		return st, Decision{Weights: st.Weights, Reason: reason}
	}
	if wait := p.cfg.MinDwell - obs.At.Sub(st.LastChange); !st.LastChange.IsZero() && wait > 0 {
		return st, Decision{Weights: st.Weights, Reason: fmt.Sprintf("%s; holding %s more (MIN_DWELL)", reason, wait.Round(time.Millisecond))}
	}
	st.Weights, st.LastChange = target, obs.At
	return st, Decision{Weights: target, Changed: true, Reason: reason}
}

// failed handles an observation without a rate: hold, and after
// FailureThreshold failures in a row apply the fail-safe once.
func (p *Policy) failed(st State, obs Observation) (State, Decision) {
	st.Failures++
	d := Decision{Weights: st.Weights, Reason: fmt.Sprintf("no measurement (%v): holding weights", obs.Err)}
	if st.Failures != p.cfg.FailureThreshold {
		return st, d
	}
	d.FailSafe = true
	d.Reason = fmt.Sprintf("%d measurements in a row failed (last: %v): fail-safe %q", st.Failures, obs.Err, p.cfg.FailSafe)
	if p.cfg.FailSafe == FailSafePrimary && st.Weights != split.AllPrimary {
		st.Weights, st.LastChange = split.AllPrimary, obs.At
		d.Weights, d.Changed = split.AllPrimary, true
	}
	return st, d
}

// target is the strategy: the weights it wants for rps, and why.
func (p *Policy) target(cur split.Split, rps float64) (split.Split, string) {
	c := p.cfg
	switch c.Strategy {
	case Step:
		switch {
		case rps > c.HighRPS:
			return split.WithBurst(min(100, cur.Burst+c.Step)), fmt.Sprintf("%.1f req/s above HIGH_RPS %g", rps, c.HighRPS)
		case rps < c.LowRPS:
			return split.WithBurst(max(0, cur.Burst-c.Step)), fmt.Sprintf("%.1f req/s below LOW_RPS %g", rps, c.LowRPS)
		}
		return cur, fmt.Sprintf("%.1f req/s within %g..%g", rps, c.LowRPS, c.HighRPS)
	case Spillover:
		return p.spillover(cur, rps)
	default:
		switch {
		case rps > c.HighRPS:
			return split.AllBurst, fmt.Sprintf("%.1f req/s above HIGH_RPS %g", rps, c.HighRPS)
		case rps < c.LowRPS:
			return split.AllPrimary, fmt.Sprintf("%.1f req/s below LOW_RPS %g", rps, c.LowRPS)
		}
		return cur, fmt.Sprintf("%.1f req/s within %g..%g", rps, c.LowRPS, c.HighRPS)
	}
}

// spillover keeps CapacityRPS on primary and sends the excess to burst: the
// burst share is (rps - capacity) / rps, rounded to Step. It moves only when
// the exact share is more than three quarters of a step away from the
// current one, so noise around a rounding boundary cannot flap.
func (p *Policy) spillover(cur split.Split, rps float64) (split.Split, string) {
	c := p.cfg
	share := 0.0
	if rps > c.CapacityRPS {
		share = 100 * (rps - c.CapacityRPS) / rps
	}
	reason := fmt.Sprintf("%.1f req/s against CAPACITY_RPS %g: %.1f%% excess", rps, c.CapacityRPS, share)
	if math.Abs(share-float64(cur.Burst)) <= 0.75*float64(c.Step) {
		return cur, reason
	}
	burst := int(math.Round(share/float64(c.Step))) * c.Step
	return split.WithBurst(min(100, burst)), reason
}
