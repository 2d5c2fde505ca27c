// Package policy decides the weights from the observed request rate. It is
// pure: no clock, no I/O; the controller passes the time in. It keeps the
// burster from flapping (hysteresis bands, a minimum dwell between changes)
// and never reads a failed or empty measurement as zero load. Each strategy
// is a type of its own (switch.go, step.go, spillover.go, slo.go) behind
// Strategy.
package policy

import (
	"fmt"
	"strings"
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
	// Away is what is known of each destination after home, in spill
	// order: Away[0] is the second destination (burst). A destination
	// past its end is not known: it gates nothing, and spillover gives it
	// what it is sent.
	Away []Away
	// SLO is each destination's window of requests, for the slo strategy;
	// nil when not measured.
	SLO *SLIs
}

// Away is what the burster knows of one destination after home.
type Away struct {
	// Ready is whether it has a ready worker; nil when not read, which
	// gates nothing. No weight goes to a destination without one.
	Ready *bool
	// Warming, when set, says why it is not ready for its first share yet
	// (its workers are scaling up): a move that would give it its first
	// share waits; a destination already carrying traffic is not affected.
	Warming string
	// CapacityRPS is the rate it can carry now (its ready workers × what
	// one serves), which spillover fills it to before the next one; nil:
	// not measured, so not limited. The last destination is never limited.
	CapacityRPS *float64
}

// away returns what is known of destination i (1 is the second); the zero
// Away when nothing is.
func (o Observation) away(i int) Away {
	if i < 1 || i > len(o.Away) {
		return Away{}
	}
	return o.Away[i-1]
}

// unready reports whether destination i is known to have no ready worker.
func (o Observation) unready(i int) bool {
	r := o.away(i).Ready
	return r != nil && !*r
}

// Decision is the outcome of one observation.
type Decision struct {
	Weights  split.Split // to apply; equal to the state's when unchanged
	Changed  bool
	Reason   string
	FailSafe bool // true once, on the observation that enters the fail-safe
	// Blocked names the destinations after home the weights were held
	// off, or moved off, because they have no ready worker.
	Blocked []string
	// SLO is what the slo strategy judged; nil under other strategies or
	// without a latency measurement.
	SLO *SLOReading
}

// BurstNotReady reports whether a destination was kept off for want of a
// ready worker.
func (d Decision) BurstNotReady() bool { return len(d.Blocked) > 0 }

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
	var t target
	if p.slo != nil {
		st, t = p.slo.plan(st, obs)
	} else {
		t = p.strategy.Target(st, obs)
	}
	var reading *SLOReading
	if p.judge != nil {
		reading = p.judge.read(st, obs.SLO)
	}
	st, d := p.decide(st, obs, t)
	d.SLO = reading
	return st, d
}

// decide applies the strategy's target through the readiness gate, the
// warming gate and the dwell (slo keeps its own: it moves away from home
// whenever home needs it, and waits only before giving home more).
func (p *Policy) decide(st State, obs Observation, t target) (State, Decision) {
	cur, to, reason := st.Weights, home(t.Split, obs), t.Reason
	var blocked []string // destinations without a ready worker the strategy wanted, or that carry traffic
	stranded := false    // one of them carries traffic now
	for i := 1; i < cur.Len(); i++ {
		if !obs.unready(i) {
			continue
		}
		if cur.Weight(i) > 0 {
			stranded = true
		}
		if cur.Weight(i) > 0 || t.Wanted.Weight(i) > 0 {
			blocked = append(blocked, cur.Name(i))
		}
	}
	if stranded {
		// Traffic goes where no worker can serve it: off at once, not
		// subject to the dwell.
		st.Weights, st.LastChange = to, obs.At
		return st, Decision{Weights: to, Changed: true, Blocked: blocked,
			Reason: fmt.Sprintf("%s no ready worker: %s (%s)", has(blocked), moved(to), reason)}
	}
	if len(blocked) > 0 {
		reason += "; " + has(blocked) + " no ready worker"
		if to == cur {
			return st, Decision{Weights: cur, Blocked: blocked, Reason: reason + ": holding"}
		}
	}
	for i := 1; i < cur.Len(); i++ {
		if w := obs.away(i).Warming; w != "" && cur.Weight(i) == 0 && to.Weight(i) > 0 {
			return st, Decision{Weights: cur, Blocked: blocked, Reason: reason + "; " + w + ": holding"}
		}
	}
	if to == cur {
		return st, Decision{Weights: cur, Blocked: blocked, Reason: reason}
	}
	if wait := p.cfg.MinDwell - obs.At.Sub(st.LastChange); p.slo == nil && !st.LastChange.IsZero() && wait > 0 {
		return st, Decision{Weights: cur, Blocked: blocked,
			Reason: fmt.Sprintf("%s; holding %s more (minimum dwell)", reason, wait.Round(time.Millisecond))}
	}
	st.Weights, st.LastChange = to, obs.At
	return st, Decision{Weights: to, Changed: true, Blocked: blocked, Reason: reason}
}

// home sends the weight of every destination without a ready worker home,
// for the strategies that do not plan around them (spillover sends it on
// to the next destination itself).
func home(s split.Split, obs Observation) split.Split {
	w := s.Weights()
	for i := 1; i < len(w); i++ {
		if obs.unready(i) {
			w[0], w[i] = w[0]+w[i], 0
		}
	}
	return s.WithWeights(w...)
}

// has says who has: "the burst cluster has", "burst and burst-2 have".
func has(names []string) string {
	if len(names) == 1 && names[0] == split.Burst {
		return "the burst cluster has"
	}
	if len(names) == 1 {
		return names[0] + " has"
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " have"
}

// moved says where the traffic goes: "all back to primary", or the split.
func moved(s split.Split) string {
	if s.Weight(0) == 100 {
		return "all back to " + s.Name(0)
	}
	return "now " + s.String()
}

// failed handles an observation without a rate: hold, and after
// FailureThreshold failures in a row apply the fail-safe once.
func (p *Policy) failed(st State, obs Observation) (State, Decision) {
	st.Failures++
	if to := home(st.Weights, obs); to != st.Weights {
		// No rate, but a destination cannot serve what it carries: home
		// at once.
		var names []string
		for i := 1; i < st.Weights.Len(); i++ {
			if obs.unready(i) && st.Weights.Weight(i) > 0 {
				names = append(names, st.Weights.Name(i))
			}
		}
		st.Weights, st.LastChange = to, obs.At
		return st, Decision{Weights: to, Changed: true, Blocked: names,
			Reason: fmt.Sprintf("%s no ready worker: %s (no measurement: %v)", has(names), moved(to), obs.Err)}
	}
	d := Decision{Weights: st.Weights, Reason: fmt.Sprintf("no measurement (%v): holding weights", obs.Err)}
	if st.Failures != p.cfg.FailureThreshold {
		return st, d
	}
	d.FailSafe = true
	d.Reason = fmt.Sprintf("%d measurements in a row failed (last: %v): fail-safe %q", st.Failures, obs.Err, p.cfg.FailSafe)
	if all := st.Weights.WithWeights(100); p.cfg.FailSafe == FailSafePrimary && st.Weights != all {
		st.Weights, st.LastChange = all, obs.At
		d.Weights, d.Changed = all, true
	}
	return st, d
}
