package policy

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// SLOState is what the slo strategy learns while it runs.
type SLOState struct {
	// CapacityRPS is primary's learned capacity: what it served while
	// queueing, or the most it carried within its objective (0: neither
	// seen yet).
	CapacityRPS float64
	// Measured: the capacity was measured with primary queueing or over
	// its objective, so it is primary's limit; otherwise it is only the
	// most primary was seen to carry, which the rate must not be held to.
	Measured bool
	// Quiet is when primary last queued or breached (or the first
	// observation): a probe waits ProbeEvery from it.
	Quiet time.Time
	// ProbeEvery is the wait between probes: SLOProbe, doubled after each
	// probe that gained nothing (0: SLOProbe).
	ProbeEvery time.Duration
	// Saturated: primary was queueing at the last observation.
	Saturated bool
	// Draining: primary's share is held low until its queue has drained.
	Draining bool
	// Rung is the probe's rung (0: no probe); Gained whether its rungs
	// raised the capacity by at least the headroom over From, the capacity
	// it started from.
	Rung   int
	Gained bool
	From   float64
	// Margin is the share of the capacity left unused (0: SLOHeadroom). It
	// widens by SLOHeadroom, up to maxMargin, when the rate's own variance
	// shows: primary queues again soon after it last did, at the capacity
	// it had and a sustained rate within it, or the rate trims a split soon
	// after slack gave primary more. A probe that raises the capacity
	// resets it, the margin having been for a smaller primary.
	Margin float64
	// SlackSince is when slack was first seen without a break (zero: none);
	// Raised, when slack last gave primary more load.
	SlackSince, Raised time.Time
	// Trusted: the capacity was read during the current queueing, in the
	// recent window with the largest share Late of late requests so far.
	Trusted bool
	Late    float64
}

// rungWait is how long a probe's rung is given before it is judged: what
// an excess of its increase over the capacity takes to queue a request past
// the objective (the objective's latency over the increase: 5 s for 5% at
// 250 ms, whatever the capacity), and at least the recent window.
func (p *plan) rungWait() time.Duration {
	increase := p.s.headroom * math.Pow(2, float64(p.st.SLO.Rung-1))
	return max(time.Duration(float64(p.s.latency)/increase), time.Duration(p.obs.SLO.Recent.Primary.span(p.s.window)*float64(time.Second)))
}

// lostCapacity is the share of the capacity below which an untrusted
// reading is taken all the same: a primary that lost nodes, not a queue
// that formed late in the window.
const lostCapacity = 0.75

// trustedLate is the least share of late requests in primary's recent
// window whose reading of what it served is taken as its capacity.
const trustedLate = 0.5

// maxMargin bounds Margin: beyond it the variance is not what queues
// primary.
const maxMargin = 0.3

// maxProbeBackoff bounds the doubling of the wait between probes that
// gain nothing: a capacity that grew is found within 16 × SLOProbe.
const maxProbeBackoff = 16

// plan is the slo strategy's decision: the state it learned from obs and
// the weights it wants. The Policy applies the burst gates to it; the dwell
// is the strategy's own (only slack waits for one).
//
// With more than two destinations, the share that leaves primary spills
// across the others in order (spread).
func (s sloStrategy) plan(st State, obs Observation) (State, target) {
	cur := st.Weights
	if st.SLO.Quiet.IsZero() {
		st.SLO.Quiet = obs.At
	}
	if st.SLO.ProbeEvery == 0 {
		st.SLO.ProbeEvery = s.probe
	}
	m := obs.SLO
	if m == nil {
		return st, want(cur, "no latency measured yet (no data in the SLO window): holding")
	}
	if total := m.Primary.Requests + m.away().Requests; total < s.minRequests {
		return st, want(cur, fmt.Sprintf("no data: %.0f requests in the last %s, fewer than the %g the SLO needs: holding",
			total, s.window, s.minRequests))
	}
	r := s.read(st, m)
	fast, inferred := s.offered(st, obs)
	p := plan{s: s, st: &st, obs: obs, cur: cur, offered: max(fast, obs.RPS), high: max(fast, obs.RPS), sustained: min(fast, obs.RPS)}
	if inferred {
		p.offered = fast
	}
	p.reason = fmt.Sprintf("primary %s; burst %s", r.Primary, r.Burst)
	for i, j := range r.Further {
		p.reason += fmt.Sprintf("; %s %s", cur.Name(i+2), j)
	}
	p.reason += fmt.Sprintf(" (objective %g%% within %s)", 100*s.target, s.latency)
	to, why := p.decide(r)
	t := p.spread(to, r)
	t.Reason = p.reason + ": " + why
	if t.Split != to && to.Len() > 2 {
		t.Reason += "; spilled " + t.Split.String()
	}
	return st, t
}

// spread divides the share to leaves primary among the destinations after
// it, in spill order: each ready one takes what it can carry of the rate
// sent away, the last ready one the rest. What a destination can carry is
// its live capacity when measured (else without limit) less the margin
// primary keeps below its own, so that it does not queue (a destination
// run at its capacity queues without bound), at the higher estimate of the
// rate, rounded down (the last takes the rounding). One over its own
// objective, or any with a capacity while primary queues, gets no more
// than it carries now: the excess goes on. With primary's share unchanged
// and no destination without a ready worker carrying traffic, each keeps
// its share while the rate's noise leaves it within its band (settle).
// Wanted is the split were every destination ready. Two destinations are
// left as they are.
func (p *plan) spread(to split.Split, r *SLOReading) target {
	if to.Len() <= 2 {
		return target{Split: to, Wanted: to}
	}
	ds := make([]spillDest, to.Len())
	ds[0] = spillDest{capacity: 0, ready: true} // what stays home is to's
	// Over its own objective, or with a capacity while primary queues or
	// drains (the rate, counted as answered, is then only a floor of what
	// is sent): no more than it carries now.
	queueing := p.st.SLO.Saturated || p.st.SLO.Draining
	for i := 1; i < len(ds); i++ {
		ds[i] = spillDest{capacity: math.Inf(1), ready: true}
		if c := p.obs.away(i).CapacityRPS; c != nil {
			ds[i].capacity = *c
		}
		if r.away(i).over() || (queueing && !math.IsInf(ds[i].capacity, 1)) {
			ds[i].capacity = min(ds[i].capacity, p.sustained*float64(p.cur.Weight(i))/100)
		}
	}
	wanted := to.WithWeights(roundWithin(p.sharesOf(to.Weight(0), p.within(ds), p.high))...)
	stranded := false
	for i := 1; i < len(ds); i++ {
		ds[i].ready = !p.obs.unready(i)
		stranded = stranded || (!ds[i].ready && p.cur.Weight(i) > 0)
	}
	t := target{Split: to.WithWeights(roundWithin(p.sharesOf(to.Weight(0), p.within(ds), p.high))...), Wanted: wanted}
	if to.Weight(0) == p.cur.Weight(0) && !stranded {
		t.Split = p.settle(ds)
	}
	return t
}

// within is ds with each capacity less the margin.
func (p *plan) within(ds []spillDest) []spillDest {
	out := slices.Clone(ds)
	for i := range out {
		out[i].capacity *= 1 - p.margin()
	}
	return out
}

// settle is the split with primary's share unchanged. Each ready
// destination with a capacity, but the last ready one, keeps its share
// while that carries no more than its capacity at the lower estimate of
// the rate and no less than its capacity less twice the margin at the
// higher one; past the first it gets its capacity less the margin at once,
// short of the second once a whole SLO window has passed since the last
// change (the window's rate is then the split's own). One without a
// capacity takes all that is left; the last ready one the rest.
func (p *plan) settle(ds []spillDest) split.Split {
	last := len(ds) - 1
	for last > 0 && !ds[last].ready {
		last--
	}
	w := p.cur.Weights()
	left := 100 - w[0]
	for i := 1; i < len(ds); i++ {
		c := ds[i].capacity
		switch {
		case !ds[i].ready:
			w[i] = 0
		case i == last || math.IsInf(c, 1):
			w[i] = left
		case !(p.sustained > 0):
			// No rate to judge by: as it is.
		case float64(w[i])*p.sustained/100 > c,
			p.windowSinceChange() && float64(w[i])*p.high/100 < c*(1-2*p.margin()):
			w[i] = int(math.Floor(100 * c * (1 - p.margin()) / p.high))
		}
		w[i] = min(max(0, w[i]), left)
		left -= w[i]
	}
	return p.cur.WithWeights(w...)
}

// sharesOf is each destination's exact share when home keeps home percent
// and the rest spills across ds (ds[0], home, takes none of it) at rps.
func (p *plan) sharesOf(home int, ds []spillDest, rps float64) []float64 {
	away := float64(100 - home)
	// A rate of nearly nothing still goes somewhere: to the first ready
	// destination.
	shares := spill(max(rps, 1e-6)*away/100, ds)
	for i := range shares {
		shares[i] *= away / 100
	}
	shares[0] += float64(home)
	return shares
}

// allOver says that no share leaves primary, every destination being over
// its objective.
func allOver(s split.Split) string {
	if s.Len() <= 2 {
		return "both clusters are over their objective: burst's share not raised"
	}
	return "every cluster is over its objective: no share moved off primary"
}

// plan is one decision in the making.
type plan struct {
	s   sloStrategy
	st  *State
	obs Observation
	cur split.Split
	// offered is the total rate sent, what the split is sized for: the
	// recent estimate when burst's answers give it, else the higher of it
	// and the rate over its window (which runs ahead while primary's queue
	// drains). high is the higher of the two, for giving primary more load;
	// sustained the lower: only a rise both show moves the split before
	// primary queues, so one noisy second does not.
	offered, high, sustained float64
	reason                   string
}

func (p *plan) decide(r *SLOReading) (split.Split, string) {
	s, st, m := p.s, &p.st.SLO, p.obs.SLO
	recent := p.recentSinceChange()
	wasSaturated := st.Saturated
	st.Saturated = m.Recent != nil && s.queueing(m.Recent.Primary)
	switch {
	case st.Saturated:
		return p.queueing(wasSaturated, r)
	case st.Draining:
		if recent == nil {
			return p.cur, "primary's queue draining: holding"
		}
		st.Draining = false
		return p.fill("primary's queue drained")
	case st.Rung > 0:
		return p.probeRung(recent, r)
	case p.windowSinceChange() && r.Primary.over():
		return p.breach(r)
	}
	p.learnCarried(r)
	// Feed-forward, once both estimates of the rate project primary over
	// its capacity: the split leaves it the margin below, so the rate's own
	// noise does not move it back and forth.
	if load := p.sustained * float64(p.cur.Weight(0)) / 100; st.Measured && load > st.CapacityRPS {
		why := fmt.Sprintf("%.1f req/s projected on primary, over its capacity %.1f req/s", load, st.CapacityRPS)
		if !st.Raised.IsZero() && p.obs.At.Sub(st.Raised) < s.marginMemory() {
			// Soon after slack gave primary more: the rate varies more
			// than the margin allows for.
			st.Margin, st.Raised = min(maxMargin, p.margin()+s.headroom), time.Time{}
			why += fmt.Sprintf(" soon after slack raised it (the margin widens to %.0f%%)", 100*st.Margin)
		}
		return p.toward(p.shareFor(st.CapacityRPS*(1-p.margin())), why)
	}
	if p.probeDue(r) {
		return p.startProbe()
	}
	return p.slack()
}

// queueing handles primary queueing: its capacity is what it served, and
// burst's share goes to the share that drains the queue.
func (p *plan) queueing(wasSaturated bool, r *SLOReading) (split.Split, string) {
	s, st, rc := p.s, &p.st.SLO, p.obs.SLO.Recent.Primary
	served := rc.Served / rc.span(s.window)
	read := served // what the recent window shows, before the episode's corrections
	// Queueing again soon after the last time, at the capacity it had and
	// a sustained rate within it, not on a probe: the rate's variance
	// queues primary at the load its margin leaves it.
	again := !wasSaturated && st.Measured && st.Rung == 0 && p.obs.At.Sub(st.Quiet) < s.marginMemory() &&
		served >= st.CapacityRPS*(1-s.headroom) && p.sustained*float64(p.cur.Weight(0))/100 <= st.CapacityRPS
	// A reading is the capacity when primary queued all through the
	// recent window. Early in an episode the window is diluted by the time
	// before it queued (too low after a step, too high after a loss of
	// capacity), late in it by the time after its queue emptied (too low):
	// the reading of the window with the largest share of late requests,
	// once that share is half or more, is the one taken. Until then a
	// reading lowers a capacity measured before only when queueing starts
	// and it reads far below it: a queue that formed late in the window
	// reads a little low, one that is draining lower still, but a primary
	// that lost nodes reads far lower as soon as it queues.
	capacity := served
	late := (rc.Requests - rc.Good) / rc.Requests
	if !wasSaturated {
		st.Trusted, st.Late = false, 0
	}
	switch {
	case late >= trustedLate && late > st.Late:
		st.Trusted, st.Late = true, late
	case st.Trusted:
		capacity = st.CapacityRPS
	case st.Measured && (wasSaturated || served >= lostCapacity*st.CapacityRPS):
		capacity = max(capacity, st.CapacityRPS)
	}
	// When queueing starts, the queue is drained from the lower of the
	// reading and the capacity: a primary that lost capacity drains at
	// once, and one that did not only gives burst more for a few seconds.
	// Later readings of the episode read low once its queue empties.
	drainFrom := capacity
	if !wasSaturated {
		drainFrom = min(served, capacity)
	}
	served = capacity
	st.CapacityRPS, st.Measured, st.Quiet, st.Draining = served, true, p.obs.At, true
	what := "queueing"
	if again {
		st.Margin = min(maxMargin, p.margin()+s.headroom)
		what = fmt.Sprintf("queueing again (the margin widens to %.0f%%)", 100*st.Margin)
	}
	switch {
	case st.Rung > 0:
		what = "queueing on the probe's rung"
		switch {
		case st.Gained:
			st.ProbeEvery = s.probe
		case read < lostCapacity*st.From:
			// Far below what primary carried before the probe: it lost
			// capacity during the probe, not to it. A change in the
			// world: probing may find something again.
			what += fmt.Sprintf(", far below the %.1f req/s it carried before", st.From)
			st.ProbeEvery = s.probe
		default:
			st.ProbeEvery = min(2*st.ProbeEvery, maxProbeBackoff*s.probe)
		}
		st.Rung, st.Gained = 0, false
	case !again && !wasSaturated:
		// A change in the world (a step, a lost node): probing may find
		// something again.
		st.ProbeEvery = s.probe
	}
	why := fmt.Sprintf("primary %s (recent %s), served %.1f req/s: its capacity", what, s.judge(rc), served)
	if r.BothOver {
		return p.cur, why + "; " + allOver(p.cur)
	}
	drain := p.shareFor(drainFrom * (1 - p.margin()) / 2)
	if wasSaturated && drain > p.cur.Weight(0)-p.shareAtLeast(served*s.headroom) {
		// Draining already: a new estimate of the rate moves the split
		// only by a headroom's worth of load or more.
		return p.cur, why + "; draining its queue: holding"
	}
	return p.toward(drain, why+"; draining its queue")
}

// breach handles a whole SLO window under the current split that misses
// primary's objective without queueing: its capacity is at most what it
// served in the window.
func (p *plan) breach(r *SLOReading) (split.Split, string) {
	s, st, w := p.s, &p.st.SLO, p.obs.SLO.Primary
	served := w.Served / w.span(s.window)
	if !st.Measured || served < st.CapacityRPS {
		st.CapacityRPS, st.Measured = served, true
	}
	st.Quiet, st.ProbeEvery = p.obs.At, s.probe
	if r.BothOver {
		return p.cur, allOver(p.cur)
	}
	share := min(p.shareFor(st.CapacityRPS*(1-p.margin())), p.cur.Weight(0)-1)
	return p.toward(share, fmt.Sprintf("primary over its objective over the window, served %.1f req/s", served))
}

// probeRung judges the probe's last rung on the recent window after it: a
// clean one raises the capacity and offers twice the increase again.
func (p *plan) probeRung(recent *SLIs, r *SLOReading) (split.Split, string) {
	s, st := p.s, &p.st.SLO
	if wait := p.rungWait(); recent == nil || p.obs.At.Sub(p.st.LastChange) < wait {
		return p.cur, fmt.Sprintf("probe rung %d: judged %s after it", st.Rung, wait.Round(100*time.Millisecond))
	}
	carried := p.sustained * float64(p.cur.Weight(0)) / 100 // the lower estimate: a probe never overstates
	if span := recent.Primary.span(s.window); recent.Primary.Served < carried*span*(1-s.headroom/2)-minQueued {
		// It answers less than it is sent, by more than the rate's
		// estimate and the window's edges can account for: a queue is
		// forming, before any answer is late.
		st.Saturated = true
		return p.queueing(false, r)
	}
	st.CapacityRPS = max(st.CapacityRPS, carried)
	if st.CapacityRPS >= st.From*(1+s.headroom) && !st.Gained {
		// Primary carries more than it did: the margin it needed may have
		// been for a smaller primary.
		st.Gained, st.Margin = true, s.headroom
	}
	if p.cur.Weight(0) >= 100 {
		st.Rung, st.Quiet, st.ProbeEvery = 0, p.obs.At, s.probe
		return p.cur, fmt.Sprintf("probe: primary carries all %.1f req/s within its objective", carried)
	}
	increase := s.headroom * math.Pow(2, float64(st.Rung))
	st.Rung++
	share := max(p.cur.Weight(0)+1, p.shareAtLeast(carried*(1+increase)))
	return p.withPrimary(share, fmt.Sprintf("probe rung %d: primary carried %.1f req/s within its objective; offering it %.0f%% more",
		st.Rung, carried, 100*increase))
}

// probeDue reports whether a probe should start: one is configured, primary
// has a capacity to probe beyond, is within its objective on a split that
// has held a window, and has not queued for ProbeEvery.
func (p *plan) probeDue(r *SLOReading) bool {
	st := p.st.SLO
	return p.s.probe > 0 && st.CapacityRPS > 0 && p.cur.Weight(0) < 100 && r.Primary.SLI != nil &&
		p.windowSinceChange() && p.obs.At.Sub(st.Quiet) >= st.ProbeEvery
}

func (p *plan) startProbe() (split.Split, string) {
	s, st := p.s, &p.st.SLO
	st.Rung, st.Gained, st.From = 1, false, st.CapacityRPS
	// What primary carries below its capacity is known to be within it:
	// the first rung offers the capacity and the headroom beyond it.
	load := st.CapacityRPS * (1 + s.headroom)
	share := max(p.cur.Weight(0)+1, p.shareAtLeast(load))
	return p.withPrimary(share, fmt.Sprintf("no queueing for %s: probe rung 1, offering primary %.1f req/s, %.0f%% more than its capacity %.1f req/s",
		st.ProbeEvery, load, 100*s.headroom, st.CapacityRPS))
}

// slack lowers burst's share to the lowest that keeps primary within its
// capacity less the margin, once the slack has lasted and the split has
// held two windows, and only by a headroom's worth of load or more (so
// noise in the rate does not move it back and forth).
func (p *plan) slack() (split.Split, string) {
	s, st := p.s, p.st
	if p.cur.Weight(0) >= 100 {
		return p.cur, "within the objective"
	}
	capacity := st.SLO.CapacityRPS
	if capacity <= 0 {
		return p.cur, "holding: primary's capacity not learned yet"
	}
	share := p.shareOf(capacity*(1-p.margin()), p.high)
	if minRise := p.shareAtLeast(capacity * s.headroom); share < p.cur.Weight(0)+max(1, minRise) && share < 100 {
		st.SLO.SlackSince = time.Time{}
		return p.cur, fmt.Sprintf("holding: %.1f req/s on primary, within its capacity %.1f req/s less %.0f%%",
			p.primaryLoad(p.cur), capacity, 100*p.margin())
	}
	if st.SLO.SlackSince.IsZero() {
		st.SLO.SlackSince = p.obs.At
	}
	// Slack must last, and the split must have held, two windows: a dip of
	// the rate for a few seconds does not give primary more load.
	since := p.obs.At.Sub(st.SLO.SlackSince)
	if !st.LastChange.IsZero() {
		since = min(since, p.obs.At.Sub(st.LastChange))
	}
	if wait := s.slackDwell() - since; wait > 0 {
		return p.cur, fmt.Sprintf("slack: holding %s more (the slack must last, and the SLO window see only the new split)", wait.Round(time.Millisecond))
	}
	st.SLO.SlackSince, st.SLO.Raised = time.Time{}, p.obs.At
	return p.withPrimary(share, fmt.Sprintf("slack: burst's share down to %d%% (%.1f req/s projected on primary, within its learned capacity %.1f req/s)",
		100-min(100, share), p.primaryLoad(p.cur.WithWeights(min(100, share), 100-min(100, share))), capacity))
}

// fill gives primary its capacity less the margin after a drain.
func (p *plan) fill(why string) (split.Split, string) {
	// Halfway between the recent estimate of the rate and the higher of it
	// and the rate over its window: a second's estimate is noisy, and the
	// window's runs ahead while the queue drains.
	share := p.shareOf(p.st.SLO.CapacityRPS*(1-p.margin()), (p.offered+p.high)/2)
	return p.withPrimary(share, fmt.Sprintf("%s: primary back to %.1f req/s, its capacity %.1f req/s less %.0f%%",
		why, p.primaryLoad(p.cur.WithWeights(min(100, share), 100-min(100, share))), p.st.SLO.CapacityRPS, 100*p.margin()))
}

// learnCarried raises the capacity to the rate primary carried within its
// objective over a whole window under the current split.
func (p *plan) learnCarried(r *SLOReading) {
	w := p.obs.SLO.Primary
	if r.Primary.SLI == nil || r.Primary.over() || !p.windowSinceChange() {
		return
	}
	p.st.SLO.CapacityRPS = max(p.st.SLO.CapacityRPS, w.Served/w.span(p.s.window))
}

// marginMemory is how soon primary must queue again for the margin to
// widen: SLOProbe, or five minutes without probing.
func (s sloStrategy) marginMemory() time.Duration {
	if s.probe > 0 {
		return s.probe
	}
	return 5 * time.Minute
}

// margin is the share of the capacity the split leaves unused.
func (p *plan) margin() float64 { return max(p.s.headroom, p.st.SLO.Margin) }

// toward moves burst's share up to give primary share percent, never down:
// the moves that protect primary.
func (p *plan) toward(share int, why string) (split.Split, string) {
	if share >= p.cur.Weight(0) {
		return p.cur, why + ": holding"
	}
	return p.withPrimary(share, why)
}

// withPrimary is the split giving primary share percent (0 to 100).
func (p *plan) withPrimary(share int, why string) (split.Split, string) {
	share = min(100, max(0, share))
	to := p.cur.WithWeights(share, 100-share)
	if to == p.cur {
		return to, why
	}
	return to, fmt.Sprintf("%s: burst's share to %d%%", why, to.Spilled())
}

// shareFor is primary's share, in whole percents rounded down, that puts at
// most load req/s on it at the offered rate.
func (p *plan) shareFor(load float64) int { return p.shareOf(load, p.offered) }

// shareOf is primary's share, rounded down, that puts at most load on it
// at the rate offered.
func (p *plan) shareOf(load, offered float64) int {
	if offered <= 0 {
		return 100
	}
	return min(100, int(math.Floor(100*load/offered+1e-9)))
}

// shareAtLeast is the share, rounded up, that puts at least load on primary.
func (p *plan) shareAtLeast(load float64) int {
	if p.offered <= 0 {
		return 100
	}
	return min(100, int(math.Ceil(100*load/p.offered-1e-9)))
}

// primaryLoad is the rate sent to primary under w.
func (p *plan) primaryLoad(w split.Split) float64 { return p.offered * float64(w.Weight(0)) / 100 }

// windowSinceChange reports whether the whole SLO window was under the
// current split.
func (p *plan) windowSinceChange() bool {
	return p.st.LastChange.IsZero() || p.obs.At.Sub(p.st.LastChange) >= p.s.window
}

// recentSinceChange is the recent window when it was all under the current
// split; nil otherwise.
func (p *plan) recentSinceChange() *SLIs {
	rc := p.obs.SLO.Recent
	if rc == nil {
		return nil
	}
	if !p.st.LastChange.IsZero() && p.obs.At.Sub(p.st.LastChange).Seconds() < rc.Primary.span(p.s.window) {
		return nil
	}
	return rc
}

// offered is the total rate sent, as best measured. Requests are counted
// when answered, so while primary queues the rate lags what is sent, and
// while its queue drains it runs ahead. The destinations after primary do
// not queue (spread keeps each within what it carries): what they answered
// since the split last changed, over their share, is what was sent in all.
// Without that, the rate or the recent window's answers, whichever is
// higher.
func (s sloStrategy) offered(st State, obs Observation) (rps float64, inferred bool) {
	rc := obs.SLO.Recent
	if rc == nil {
		return obs.RPS, false
	}
	away := rc.away()
	since := st.LastChange.IsZero() || obs.At.Sub(st.LastChange).Seconds() >= away.span(s.window)
	if b := st.Weights.Spilled(); b > 0 && since && away.Requests >= minInferred {
		return away.Requests / away.span(s.window) * 100 / float64(b), true
	}
	return (rc.Primary.Requests + away.Requests) / rc.Primary.span(s.window), false
}

// minInferred is the fewest requests the destinations after primary must
// have answered in the recent window for the total to be inferred from
// them: with fewer, one request more or less at the window's edges moves
// the estimate by over 5%.
const minInferred = 20
