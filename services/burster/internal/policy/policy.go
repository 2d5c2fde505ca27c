// Package policy decides the weights from the observed request rate. It is
// pure: no clock, no I/O; the controller passes the time in. It keeps the
// burster from flapping (hysteresis bands, a minimum dwell between changes)
// and never reads a failed or empty measurement as zero load. Each strategy
// is a type of its own (switch.go, step.go, spillover.go, slo.go) behind
// Strategy.
package policy

import (
	"fmt"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// State is what the policy remembers between observations.
type State struct {
	Weights    split.Split
	LastChange time.Time // zero: no change yet, so the dwell does not apply
	Failures   int       // consecutive failed measurements
	SLO        SLOState  // what the slo strategy learned
}

// Observation is one measurement: a rate, or the error that prevented it.
type Observation struct {
	At  time.Time
	RPS float64
	Err error
	// CapacityRPS is primary's live capacity (its ready workers × what
	// one serves), which spillover keeps instead of the configured
	// capacity; nil when not measured.
	CapacityRPS *float64
	// BurstReady is whether the burst cluster has a ready worker; nil when
	// not known to the burster (no BURST_KUBECONFIG), which gates nothing.
	BurstReady *bool
	// BurstWarming, when set, says why the burst cluster is not ready for
	// its first share yet (its workers are scaling up): a move from all
	// primary waits; a burst already carrying traffic is not affected.
	BurstWarming string
	// SLO is each destination's window of requests, for the slo strategy;
	// nil when not measured.
	SLO *SLIs
}

// Decision is the outcome of one observation.
type Decision struct {
	Weights  split.Split // to apply; equal to the state's when unchanged
	Changed  bool
	Reason   string
	FailSafe bool // true once, on the observation that enters the fail-safe
	// BurstNotReady: the weights were held, or sent back to primary,
	// because the burst cluster has no ready worker.
	BurstNotReady bool
	// SLO is what the slo strategy judged; nil under other strategies or
	// without a latency measurement.
	SLO *SLOReading
}

// Policy turns observations into decisions.
type Policy struct {
	cfg      Config
	strategy Strategy     // nil under slo, which keeps its own timing
	slo      *sloStrategy // the strategy, when it is slo
	judge    *sloStrategy // judges a measured latency; nil without a valid objective
}

// New returns a Policy for cfg, or the problems with cfg.
func New(cfg Config) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Policy{cfg: cfg}
	if cfg.Strategy == SLO {
		s := newSLOStrategy(cfg)
		p.slo = &s
	} else {
		p.strategy = newStrategy(cfg)
	}
	if cfg.validateSLO() == nil {
		// Any strategy judges a measured latency, for the status.
		judge := newSLOStrategy(cfg)
		p.judge = &judge
	}
	return p, nil
}

// DecidesFromSLO reports whether the strategy decides from the latency
// (slo): a latency that cannot be measured is then a failed measurement.
func (p *Policy) DecidesFromSLO() bool { return p.slo != nil }

// Next returns the new state and the decision for one observation.
func (p *Policy) Next(st State, obs Observation) (State, Decision) {
	if obs.Err != nil {
		return p.failed(st, obs)
	}
	st.Failures = 0
	var target split.Split
	var reason string
	if p.slo != nil {
		st, target, reason = p.slo.plan(st, obs)
	} else {
		target, reason = p.strategy.Target(st, obs)
	}
	var reading *SLOReading
	if p.judge != nil {
		reading = p.judge.read(st, obs.SLO)
	}
	st, d := p.decide(st, obs, target, reason)
	d.SLO = reading
	return st, d
}

// decide applies the strategy's target through the burst gate and the
// dwell (slo keeps its own: it moves towards burst whenever primary needs
// it, and waits only before giving primary more).
func (p *Policy) decide(st State, obs Observation, target split.Split, reason string) (State, Decision) {
	if obs.BurstReady != nil && !*obs.BurstReady {
		switch {
		case st.Weights.Burst > 0:
			// Burst carries traffic it cannot serve: back at once, not
			// subject to the dwell.
			st.Weights, st.LastChange = split.AllPrimary, obs.At
			return st, Decision{Weights: split.AllPrimary, Changed: true, BurstNotReady: true,
				Reason: "the burst cluster has no ready worker: all back to primary (" + reason + ")"}
		case target.Burst > 0:
			return st, Decision{Weights: st.Weights, BurstNotReady: true,
				Reason: reason + "; the burst cluster has no ready worker: holding"}
		}
	}
	if obs.BurstWarming != "" && st.Weights.Burst == 0 && target.Burst > 0 {
		return st, Decision{Weights: st.Weights, Reason: reason + "; " + obs.BurstWarming + ": holding"}
	}
	if target == st.Weights {
		return st, Decision{Weights: st.Weights, Reason: reason}
	}
	if wait := p.cfg.MinDwell - obs.At.Sub(st.LastChange); p.slo == nil && !st.LastChange.IsZero() && wait > 0 {
		return st, Decision{Weights: st.Weights, Reason: fmt.Sprintf("%s; holding %s more (minimum dwell)", reason, wait.Round(time.Millisecond))}
	}
	st.Weights, st.LastChange = target, obs.At
	return st, Decision{Weights: target, Changed: true, Reason: reason}
}

// failed handles an observation without a rate: hold, and after
// FailureThreshold failures in a row apply the fail-safe once.
func (p *Policy) failed(st State, obs Observation) (State, Decision) {
	st.Failures++
	if obs.BurstReady != nil && !*obs.BurstReady && st.Weights.Burst > 0 {
		// No rate, but burst cannot serve what it carries: back at once.
		st.Weights, st.LastChange = split.AllPrimary, obs.At
		return st, Decision{Weights: split.AllPrimary, Changed: true, BurstNotReady: true,
			Reason: fmt.Sprintf("the burst cluster has no ready worker: all back to primary (no measurement: %v)", obs.Err)}
	}
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
