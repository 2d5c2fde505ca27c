package policy

import (
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// steppingSLO is the slo strategy as it was before it sized its moves,
// kept as the baseline the traces are measured against: burst's share up a
// step per dwell of two windows while primary breaches, down to the lowest
// share within the highest rate primary carried within its objective, and
// a step beyond that after SLOProbe without a breach (never restarting that
// clock after a probe that held).
type steppingSLO struct {
	s     sloStrategy
	step  int
	dwell time.Duration
}

func newSteppingSLO(c Config) steppingSLO {
	return steppingSLO{s: newSLOStrategy(c), step: 20, dwell: max(c.MinDwell, 2*c.SLOWindow)}
}

// next is its decision, the dwell included.
func (b steppingSLO) next(st State, obs Observation) (State, Decision) {
	if obs.Err != nil {
		return st, Decision{Weights: st.Weights}
	}
	st = b.learn(st, obs)
	target := b.target(st, obs)
	if target == st.Weights || (!st.LastChange.IsZero() && obs.At.Sub(st.LastChange) < b.dwell) {
		return st, Decision{Weights: st.Weights}
	}
	st.Weights, st.LastChange = target, obs.At
	return st, Decision{Weights: target, Changed: true}
}

func (b steppingSLO) learn(st State, obs Observation) State {
	if st.SLO.Quiet.IsZero() {
		st.SLO.Quiet = obs.At
	}
	if obs.SLO == nil {
		return st
	}
	j := b.s.judge(obs.SLO.Primary)
	if j.SLI == nil {
		return st
	}
	if j.over() {
		st.SLO.Quiet = obs.At
	}
	if !st.LastChange.IsZero() && obs.At.Sub(st.LastChange) < b.s.window {
		return st
	}
	rate := obs.SLO.Primary.Requests / b.s.window.Seconds()
	switch {
	case !j.over():
		st.SLO.CapacityRPS = max(st.SLO.CapacityRPS, rate)
	case rate <= st.SLO.CapacityRPS:
		st.SLO.CapacityRPS = rate * float64(100-b.step) / 100
	}
	return st
}

func (b steppingSLO) target(st State, obs Observation) split.Split {
	cur := st.Weights
	if obs.SLO == nil || obs.SLO.Primary.Requests+obs.SLO.Burst.Requests < b.s.minRequests {
		return cur
	}
	r := b.s.read(st, obs.SLO)
	if r.Primary.over() {
		if r.BothOver || cur.Spilled() >= 100 {
			return cur
		}
		return split.WithBurst(min(100, cur.Spilled()+b.step))
	}
	if cur.Spilled() == 0 {
		return cur
	}
	project := func(burst int) float64 { return obs.RPS * float64(100-burst) / 100 }
	lowest := cur.Spilled()
	for bu := cur.Spilled(); bu > 0; {
		bu = max(0, bu-b.step)
		if project(bu) > st.SLO.CapacityRPS {
			break
		}
		lowest = bu
	}
	if lowest < cur.Spilled() {
		return split.WithBurst(lowest)
	}
	if b.s.probe > 0 && r.Primary.SLI != nil && obs.At.Sub(st.SLO.Quiet) >= b.s.probe {
		return split.WithBurst(max(0, cur.Spilled()-b.step))
	}
	return cur
}
