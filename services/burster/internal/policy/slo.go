package policy

import (
	"fmt"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/slo"
)

// Window is one destination's requests over a window, as its latency
// histogram counts them (each request when it is answered or refused).
type Window struct {
	Requests float64 // every request answered or refused
	Good     float64 // answered, not failed, within the latency objective
	Served   float64 // answered, not failed, at any latency
	// Seconds is the time the counts span. A source whose samples have a
	// gap says so here, so that a count over a longer span is never read
	// as a higher rate. Every source sets it; 0 is read as the SLO window,
	// which a recent window is not.
	Seconds float64
}

// span is the seconds w covers: its own, or the nominal window's.
func (w Window) span(nominal time.Duration) float64 {
	if w.Seconds > 0 {
		return w.Seconds
	}
	return nominal.Seconds()
}

// SLIs is what the slo strategy decides from: each destination's window.
type SLIs struct {
	Primary, Burst Window
	// Further are the windows of the destinations after burst, in spill
	// order; nil with two destinations.
	Further []Window
	// Recent is the same over the last few scrapes, far shorter than the
	// SLO window: queueing at primary shows there within seconds. Nil when
	// not measured (the strategy then reacts to the SLO window alone).
	Recent *SLIs
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

// At is destination i's window in spill order (0 is primary, 1 burst, then
// Further), for the sources that fill them; nil past the last.
func (m *SLIs) At(i int) *Window {
	switch {
	case i == 0:
		return &m.Primary
	case i == 1:
		return &m.Burst
	case i-2 < len(m.Further):
		return &m.Further[i-2]
	}
	return nil
}

// away is the window of every destination after home together.
func (m SLIs) away() Window {
	w := m.Burst
	for _, f := range m.Further {
		w.Requests, w.Good, w.Served = w.Requests+f.Requests, w.Good+f.Good, w.Served+f.Served
	}
	return w
}

// SLOReading is what the slo strategy saw in one observation, for the
// status, the page and the metrics.
type SLOReading struct {
	Primary, Burst Judgement
	// Further judges the destinations after burst, in spill order.
	Further     []Judgement
	CapacityRPS float64 // learned; 0 until primary was seen within its objective or saturated
	// BothOver: primary and every destination after it burn faster than
	// allowed, so no share is moved off primary.
	BothOver bool
}

// away is the judgement of destination i after home (1 is burst).
func (r *SLOReading) away(i int) Judgement {
	if i == 1 {
		return r.Burst
	}
	if i-2 < len(r.Further) {
		return r.Further[i-2]
	}
	return Judgement{}
}

// sloStrategy holds primary at its latency objective and sends only the
// excess to burst, sizing every move from what it measured instead of
// stepping (slo_plan.go):
//
//   - Queueing (primary's recent window misses the objective): a saturated
//     server serves at its capacity whatever it is sent, so what primary
//     served is its capacity, read where it queued all through the window.
//     Burst's share goes at once to the share that leaves primary half of
//     it, so the queue drains in seconds, and once the recent window is
//     clean to the share that leaves it its capacity less the margin.
//   - Feed-forward: with a capacity measured, the rate, read every
//     interval, moves the split as soon as it projects primary over its
//     capacity, before any window shows a breach.
//   - Feedback: a whole SLO window under the current split that misses the
//     objective without queueing (slow answers, errors) lowers the
//     capacity to what primary served in it, and the share follows.
//   - Slack: with the load down for two windows, burst's share goes down to
//     the lowest that keeps primary within its capacity less the margin.
//   - Margin: SLOHeadroom, widened when the rate's own variance queues
//     primary at the load the margin leaves it.
//   - Probe: after SLOProbe without queueing, primary is offered its
//     capacity and SLOHeadroom more, judged on the recent window after it;
//     each clean rung raises the capacity and offers twice the previous
//     increase, and the first sign of queueing (fewer answers than it was
//     sent, or late ones) ends the probe. A probe that gained nothing
//     doubles the wait for the next one; a gain, queueing that is not
//     the variance's, or a rung queueing far below what primary carried
//     before the probe (it lost capacity during the probe, not to it)
//     restarts it from SLOProbe.
type sloStrategy struct {
	target      float64
	window      time.Duration
	latency     time.Duration
	minRequests float64
	probe       time.Duration
	headroom    float64
}

func newSLOStrategy(c Config) sloStrategy {
	return sloStrategy{target: c.SLOTarget, window: c.SLOWindow, latency: c.SLOLatency,
		minRequests: c.SLOMinRequests, probe: c.SLOProbe, headroom: c.SLOHeadroom}
}

// slackDwell is the least time between a change and a move that gives
// primary more load when nothing is queueing: a window for the previous
// split's requests to leave it, one more for what they left to drain.
func (s sloStrategy) slackDwell() time.Duration { return 2 * s.window }

func (s sloStrategy) judge(w Window) Judgement {
	j := Judgement{Requests: w.Requests}
	if w.Requests < s.minRequests || w.Requests <= 0 {
		return j
	}
	sli := slo.SLI(w.Good, w.Requests)
	burn := slo.Burn(sli, s.target)
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
	for _, w := range m.Further {
		j := s.judge(w)
		r.Further = append(r.Further, j)
		r.BothOver = r.BothOver && j.over()
	}
	return r
}

// queueing reports whether primary's recent window shows it queueing: more
// of its requests late or failed than the objective allows, and at least
// minQueued of them (one late request among forty is not a queue).
func (s sloStrategy) queueing(w Window) bool {
	bad := w.Requests - w.Good
	return w.Requests > 0 && bad >= minQueued && bad/w.Requests > 1-s.target
}

// minQueued is the fewest late or failed requests in primary's recent
// window that count as queueing.
const minQueued = 2
