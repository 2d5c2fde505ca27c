package policy

import (
	"fmt"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// Window is one destination's requests over the SLO window, as its latency
// histogram counts them.
type Window struct {
	Requests float64 // every request sent there
	Good     float64 // answered, not 5xx, within the latency objective
}

// SLIs is what the slo strategy decides from: each destination's window.
type SLIs struct {
	Primary, Burst Window
}

// SLOState is what the slo strategy learns while it runs; a new leader term
// starts from zero and learns again.
type SLOState struct {
	// CapacityRPS is the highest rate primary was seen to carry within its
	// objective (0: not yet seen); a breach at or below it lowers it.
	CapacityRPS float64
	// Quiet is when primary's last breach was judged (or the first
	// observation): a probe waits SLOProbe from it.
	Quiet time.Time
}

// Judgement is one destination's SLI and burn rate over the window; both
// are nil when it had fewer requests than the SLO needs to judge it.
type Judgement struct {
	Requests float64
	SLI      *float64 // good / requests
	Burn     *float64 // (1 - SLI) / (1 - target): 1 spends the budget exactly
}

// over reports whether the destination burns its budget faster than
// allowed.
func (j Judgement) over() bool { return j.Burn != nil && *j.Burn > 1 }

func (j Judgement) String() string {
	if j.SLI == nil {
		return fmt.Sprintf("%.0f requests, too few to judge", j.Requests)
	}
	return fmt.Sprintf("SLI %.2f%%, burn %.1f×", 100**j.SLI, *j.Burn)
}

// SLOReading is what the slo strategy saw in one observation, for the
// status, the page and the metrics.
type SLOReading struct {
	Primary, Burst Judgement
	CapacityRPS    float64 // learned; 0 until primary was seen within its objective
	BothOver       bool    // both clusters burn faster than allowed: burst's share is not raised
}

// sloStrategy holds primary at its latency objective. While primary burns
// its error budget faster than allowed it moves burst's share up a step at a
// time; while primary is within its objective it moves burst's share down to
// the lowest share whose projected load on primary stays within the highest
// rate primary was seen to carry within its objective (its learned
// capacity). Only after SLOProbe without a breach does it try one step
// beyond, to learn a capacity that grew. The Policy lets it judge a split
// only once a whole window has passed since the split changed (the dwell is
// at least twice the window: one for the old split's requests to leave the
// window, one for queues they left behind to drain).
type sloStrategy struct {
	target      float64
	window      time.Duration
	latency     time.Duration
	minRequests float64
	probe       time.Duration
	step        int
}

func newSLOStrategy(c Config) sloStrategy {
	return sloStrategy{target: c.SLOTarget, window: c.SLOWindow, latency: c.SLOLatency,
		minRequests: c.SLOMinRequests, probe: c.SLOProbe, step: c.Step}
}

// dwell is the least time between two changes under slo: a window for the
// previous split's requests to leave it, and one more for queues to drain.
func (s sloStrategy) dwell(minDwell time.Duration) time.Duration { return max(minDwell, 2*s.window) }

func (s sloStrategy) judge(w Window) Judgement {
	j := Judgement{Requests: w.Requests}
	if w.Requests < s.minRequests || w.Requests <= 0 {
		return j
	}
	sli := min(1, max(0, w.Good/w.Requests))
	burn := (1 - sli) / (1 - s.target)
	j.SLI, j.Burn = &sli, &burn
	return j
}

// read judges both destinations.
func (s sloStrategy) read(st State, m *SLIs) *SLOReading {
	if m == nil {
		return nil
	}
	r := &SLOReading{Primary: s.judge(m.Primary), Burst: s.judge(m.Burst), CapacityRPS: st.SLO.CapacityRPS}
	r.BothOver = r.Primary.over() && r.Burst.over()
	return r
}

// learn updates what the strategy knows of primary from an observation
// whose window shows only the current split (none changed within it).
func (s sloStrategy) learn(st State, obs Observation) State {
	if st.SLO.Quiet.IsZero() {
		st.SLO.Quiet = obs.At
	}
	if obs.SLO == nil {
		return st
	}
	j := s.judge(obs.SLO.Primary)
	if j.SLI == nil {
		return st
	}
	if j.over() {
		st.SLO.Quiet = obs.At
	}
	if !st.LastChange.IsZero() && obs.At.Sub(st.LastChange) < s.window {
		return st // the window holds requests sent under the previous split
	}
	rate := obs.SLO.Primary.Requests / s.window.Seconds()
	switch {
	case !j.over():
		st.SLO.CapacityRPS = max(st.SLO.CapacityRPS, rate)
	case rate <= st.SLO.CapacityRPS:
		// Primary breached at a rate it carried before: its capacity
		// shrank. Below the rate that breached, by one step's share.
		st.SLO.CapacityRPS = rate * float64(100-s.step) / 100
	}
	return st
}

// Target decides from the window's SLIs; the rate (obs.RPS) projects the
// load a lower share would put on primary.
func (s sloStrategy) Target(st State, obs Observation) (split.Split, string) {
	cur := st.Weights
	if obs.SLO == nil {
		return cur, "no latency measured yet (no data in the SLO window): holding"
	}
	total := obs.SLO.Primary.Requests + obs.SLO.Burst.Requests
	if total < s.minRequests {
		return cur, fmt.Sprintf("no data: %.0f requests in the last %s, fewer than the %g the SLO needs: holding",
			total, s.window, s.minRequests)
	}
	r := s.read(st, obs.SLO)
	reason := fmt.Sprintf("primary %s; burst %s (objective %g%% within %s)", r.Primary, r.Burst, 100*s.target, s.latency)
	if r.Primary.over() {
		switch {
		case r.BothOver:
			return cur, reason + ": both clusters are over their objective: burst's share not raised"
		case cur.Burst >= 100:
			return cur, reason + ": primary over its objective, all on burst already"
		}
		return split.WithBurst(min(100, cur.Burst+s.step)), reason + fmt.Sprintf(": primary over its objective: burst's share up a step to %d%%", min(100, cur.Burst+s.step))
	}
	if cur.Burst == 0 {
		return cur, reason + ": within the objective"
	}
	project := func(burst int) float64 { return obs.RPS * float64(100-burst) / 100 }
	lowest := cur.Burst
	for b := cur.Burst; b > 0; {
		b = max(0, b-s.step)
		if project(b) > st.SLO.CapacityRPS {
			break
		}
		lowest = b
	}
	capacity := "not learned yet"
	if st.SLO.CapacityRPS > 0 {
		capacity = fmt.Sprintf("%.1f req/s", st.SLO.CapacityRPS)
	}
	if lowest < cur.Burst {
		return split.WithBurst(lowest), reason + fmt.Sprintf(": slack: burst's share down to %d%% (%.1f req/s projected on primary, within its learned capacity %s)",
			lowest, project(lowest), capacity)
	}
	next := max(0, cur.Burst-s.step)
	if s.probe > 0 && r.Primary.SLI != nil && obs.At.Sub(st.SLO.Quiet) >= s.probe {
		return split.WithBurst(next), reason + fmt.Sprintf(": no breach for %s: probing a step down to %d%% (%.1f req/s projected on primary, above its learned capacity %s)",
			s.probe, next, project(next), capacity)
	}
	return cur, reason + fmt.Sprintf(": holding: %d%% would put %.1f req/s on primary, above its learned capacity %s",
		next, project(next), capacity)
}
