package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// The plant: a deterministic model of what the slo strategy controls, with
// the memory that matters. Requests arrive paced at the trace's rate (open
// loop, as the frontend sends them) and are split by smooth weighted
// round-robin, as the local mesh does. Primary serves a fixed capacity in
// order of arrival, queueing up to maxWait and refusing (503) beyond; burst
// answers every request. A trace with destinations after burst (away)
// gives each of them but the last a capacity of its own, queued the same
// way; the last answers every request. Each request is counted when it is answered, into
// the latency histogram's good and served counts, as Envoy and the local
// mesh count it. A source samples the counters every scrape interval and
// gives the policy the rate over its window, the SLO window and the recent
// window, each over the span its samples really cover; a weight change
// reaches the proxies applyDelay after it is written. No real clock: an
// hour runs in milliseconds.

// plantConfig is the loop's timing: the demo's or the clusters'.
type plantConfig struct {
	name       string
	scrape     time.Duration // how often the counters are sampled
	rateWindow time.Duration // the rate's window
	recent     time.Duration // the recent window
	interval   time.Duration // the burster's tick
	applyDelay time.Duration // from a write to the proxies using it
	maxWait    time.Duration // primary's queue bound
	service    time.Duration // an answer's own time, queueing aside
	policy     Config
	away       []float64 // the trace's capacities after primary, as run sets them
}

// demoPlant is make demo -strategy=slo: the burster scrapes the local mesh
// every second (its recent window one scrape), a 5 s window, weights
// applied at once.
func demoPlant() plantConfig {
	c := cfg(SLO)
	c.SLOLatency, c.SLOTarget, c.SLOWindow, c.SLOMinRequests = 250*time.Millisecond, 0.99, 5*time.Second, 20
	c.SLOProbe, c.SLOHeadroom = 5*time.Minute, 0.05
	return plantConfig{name: "demo", scrape: time.Second, rateWindow: 5 * time.Second, recent: 1 * time.Second,
		interval: time.Second, maxWait: time.Second, service: 2 * time.Millisecond, policy: c}
}

// clusterPlant is the clusters' configuration: Prometheus scrapes every 2 s
// (the recent window two scrapes), the rate over 10 s, a 30 s SLO window,
// a second for istiod's push.
func clusterPlant() plantConfig {
	p := demoPlant()
	p.name, p.scrape, p.rateWindow, p.recent, p.applyDelay = "clusters", 2*time.Second, 10*time.Second, 4*time.Second, time.Second
	p.policy.SLOWindow = 30 * time.Second
	return p
}

// trace is a load and primary's capacity over time.
type trace struct {
	name     string
	length   time.Duration
	rate     func(at time.Duration) float64 // req/s sent
	capacity func(at time.Duration) float64 // req/s primary serves
	events   []time.Duration                // steps whose reaction is measured
	// away are the capacities of the destinations after primary, in
	// spill order, the last one's ignored (it takes the rest); nil: one,
	// burst, without limit.
	away []float64
}

// names are the trace's destinations: primary, burst, burst-2...
func (tr trace) names() []string {
	names := []string{"primary", "burst"}
	for i := 2; i < len(tr.away)+1; i++ {
		names = append(names, fmt.Sprintf("burst-%d", i))
	}
	return names
}

// counters are one destination's cumulative counts.
type counters struct{ requests, good, served float64 }

// second is what happened to the requests that arrived in one second.
type second struct {
	offered, primary, failed, slow float64 // all sent; to primary; primary's 503s; primary's late answers
	capacity                       float64
	weights                        split.Split
	to                             [split.Max]float64 // sent to each destination
	awayFailed, awaySlow           float64            // the 503s and late answers of those after primary
}

// plantRun is one trace driven through a controller.
type plantRun struct {
	cfg     plantConfig
	seconds []second
	changes []time.Duration
	final   State
}

// controllerFunc is one decision: the real Policy's Next, or a baseline's.
type controllerFunc func(State, Observation) (State, Decision)

type sample struct {
	at   time.Duration
	dest [split.Max]counters
}

// run drives tr through next.
func (pc plantConfig) run(tr trace, next controllerFunc) plantRun {
	pc.away = tr.away
	res := plantRun{cfg: pc, seconds: make([]second, int(tr.length/time.Second)+1)}
	const bin = 10 * time.Millisecond
	done := make([][split.Max]counters, int((tr.length+pc.maxWait+time.Second)/bin)+1)
	home := split.Home(tr.names()...)
	var (
		cum     [split.Max]counters
		cumBin  int
		samples []sample
		applied = home
		pending []struct {
			at time.Duration
			w  split.Split
		}
		swrr      [split.Max]int
		nextStart [split.Max]time.Duration // when each destination's server is free
		arrival   time.Duration
		st        = State{Weights: home}
	)
	record := func(dest int, at, took time.Duration, ok bool) {
		c := &done[int((at+took)/bin)][dest]
		c.requests++
		if ok {
			c.served++
			if took <= pc.policy.SLOLatency {
				c.good++
			}
		}
	}
	arrive := func(a time.Duration) {
		for len(pending) > 0 && pending[0].at <= a {
			applied, swrr = pending[0].w, [split.Max]int{}
			pending = pending[1:]
		}
		best := 0
		for i := range applied.Len() {
			swrr[i] += applied.Weight(i)
			if swrr[i] > swrr[best] {
				best = i
			}
		}
		swrr[best] -= 100
		s := &res.seconds[int(a/time.Second)]
		s.offered++
		s.to[best]++
		capacity := tr.capacity(a)
		if best > 0 {
			if best >= len(tr.away) || tr.away[best-1] <= 0 {
				record(best, a, pc.service, true) // the last, or without limit
				return
			}
			capacity = tr.away[best-1]
		} else {
			s.primary++
		}
		failed, slow := &s.failed, &s.slow
		if best > 0 {
			failed, slow = &s.awayFailed, &s.awaySlow
		}
		start := max(a, nextStart[best])
		if start-a > pc.maxWait {
			*failed++
			record(best, a, 0, false)
			return
		}
		nextStart[best] = start + time.Duration(float64(time.Second)/capacity)
		took := start - a + pc.service
		if took > pc.policy.SLOLatency {
			*slow++
		}
		record(best, a, took, true)
	}
	for tick := pc.interval; tick <= tr.length; tick += pc.interval {
		for arrival < tick {
			r := tr.rate(arrival)
			if r <= 0 {
				arrival = (arrival/time.Second + 1) * time.Second
				continue
			}
			arrive(arrival)
			arrival += time.Duration(float64(time.Second) / r)
		}
		sec := &res.seconds[int((tick-1)/time.Second)]
		sec.capacity, sec.weights = tr.capacity(tick-1), applied
		if tick%pc.scrape == 0 {
			for ; cumBin <= int(tick/bin) && cumBin < len(done); cumBin++ {
				for d := range cum {
					cum[d].requests += done[cumBin][d].requests
					cum[d].good += done[cumBin][d].good
					cum[d].served += done[cumBin][d].served
				}
			}
			samples = append(samples, sample{at: tick, dest: cum})
		}
		var d Decision
		st, d = next(st, pc.observe(tick, samples))
		if d.Changed {
			res.changes = append(res.changes, tick)
			pending = append(pending, struct {
				at time.Duration
				w  split.Split
			}{tick + pc.applyDelay, d.Weights})
		}
	}
	res.final = st
	return res
}

// observe is what the source reports at now from the samples.
func (pc plantConfig) observe(now time.Duration, samples []sample) Observation {
	obs := Observation{At: t0.Add(now)}
	if len(samples) < 2 {
		obs.Err = ErrPlantNoData
		return obs
	}
	last := samples[len(samples)-1]
	n := max(2, len(pc.away)+1)
	if len(pc.away) > 1 {
		for i := range pc.away {
			a := Away{Ready: new(true)}
			if i < len(pc.away)-1 && pc.away[i] > 0 {
				a.CapacityRPS = new(pc.away[i])
			}
			obs.Away = append(obs.Away, a)
		}
	}
	from := func(w time.Duration) sample {
		i := len(samples) - 1
		for i > 0 && samples[i].at > last.at-w {
			i--
		}
		return samples[i]
	}
	first := from(pc.rateWindow)
	dt := (last.at - first.at).Seconds()
	for d := range n {
		obs.RPS += (last.dest[d].requests - first.dest[d].requests) / dt
	}
	windows := func(w time.Duration) *SLIs {
		f := from(w)
		sec := (last.at - f.at).Seconds()
		win := func(d int) Window {
			return Window{Requests: last.dest[d].requests - f.dest[d].requests, Good: last.dest[d].good - f.dest[d].good,
				Served: last.dest[d].served - f.dest[d].served, Seconds: sec}
		}
		m := &SLIs{Primary: win(0), Burst: win(1)}
		for d := 2; d < n; d++ {
			m.Further = append(m.Further, win(d))
		}
		return m
	}
	if f := from(pc.policy.SLOWindow); last.at-f.at >= pc.policy.SLOWindow-pc.policy.SLOWindow/10 {
		obs.SLO = windows(pc.policy.SLOWindow)
		obs.SLO.Recent = windows(pc.recent)
	}
	return obs
}

// ErrPlantNoData is the plant's source before two samples.
var ErrPlantNoData = errNoData{}

type errNoData struct{}

func (errNoData) Error() string { return "no data yet" }

// Traces.

func constant(v float64) func(time.Duration) float64 { return func(time.Duration) float64 { return v } }

// stepAt is before until at, after from then on.
func stepAt(at time.Duration, before, after float64) func(time.Duration) float64 {
	return func(t time.Duration) float64 {
		if t < at {
			return before
		}
		return after
	}
}

// noisy is v with each second's rate drawn uniformly within ±share of it.
func noisy(v, share float64, seed uint64, length time.Duration) func(time.Duration) float64 {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	per := make([]float64, int(length/time.Second)+2)
	for i := range per {
		per[i] = v * (1 + share*(2*rng.Float64()-1))
	}
	return func(t time.Duration) float64 { return per[int(t/time.Second)] }
}

// Figures.

// settle is the time from the event at e to the last change before end
// (0 when none changed).
func (r plantRun) settle(e, end time.Duration) time.Duration {
	var last time.Duration
	for _, c := range r.changes {
		if c >= e && c < end {
			last = c - e
		}
	}
	return last
}

// sum adds f over the seconds in [from, to).
func (r plantRun) sum(from, to time.Duration, f func(second) float64) float64 {
	var n float64
	for i := int(from / time.Second); i < int(to/time.Second) && i < len(r.seconds); i++ {
		n += f(r.seconds[i])
	}
	return n
}

func (r plantRun) failed(from, to time.Duration) float64 {
	return r.sum(from, to, func(s second) float64 { return s.failed })
}

func (r plantRun) bad(from, to time.Duration) float64 {
	return r.sum(from, to, func(s second) float64 { return s.failed + s.slow })
}

// sli is primary's share of good requests among those sent to it in
// [from, to).
func (r plantRun) sli(from, to time.Duration) float64 {
	n := r.sum(from, to, func(s second) float64 { return s.primary })
	if n == 0 {
		return 1
	}
	return 1 - r.bad(from, to)/n
}

// carried is primary's mean rate sent in [from, to).
func (r plantRun) carried(from, to time.Duration) float64 {
	return r.sum(from, to, func(s second) float64 { return s.primary }) / (to - from).Seconds()
}

// sent is the mean rate sent to destination i in [from, to).
func (r plantRun) sent(i int, from, to time.Duration) float64 {
	return r.sum(from, to, func(s second) float64 { return s.to[i] }) / (to - from).Seconds()
}

// awaySLI is the share of good requests among those sent to the
// destinations after primary with a capacity in [from, to).
func (r plantRun) awaySLI(from, to time.Duration) float64 {
	n := 0.0
	for i := 1; i < len(r.cfg.away); i++ { // the last takes the rest, without limit
		n += r.sum(from, to, func(s second) float64 { return s.to[i] })
	}
	if n == 0 {
		return 1
	}
	return 1 - r.sum(from, to, func(s second) float64 { return s.awayFailed + s.awaySlow })/n
}

// utilisation is primary's mean share of its capacity used in [from, to).
func (r plantRun) utilisation(from, to time.Duration) float64 {
	used := r.sum(from, to, func(s second) float64 { return min(s.primary-s.failed, s.capacity) })
	return used / r.sum(from, to, func(s second) float64 { return s.capacity })
}

// recovered is how long after e the last SLO window (ending at each
// second) that missed the objective ended, within [e, end).
func (r plantRun) recovered(e, end time.Duration) time.Duration {
	w := r.cfg.policy.SLOWindow
	var last time.Duration
	for t := e + time.Second; t < end; t += time.Second {
		if r.sli(max(0, t-w), t) < r.cfg.policy.SLOTarget {
			last = t - e
		}
	}
	return last
}

// budgetSpent is the bad requests in [from, to) as a share of an hour's
// error budget at the target, an hour of the mean rate sent in that time.
func (r plantRun) budgetSpent(from, to time.Duration) float64 {
	sent := r.sum(from, to, func(s second) float64 { return s.offered }) / (to - from).Seconds()
	return r.bad(from, to) / ((1 - r.cfg.policy.SLOTarget) * sent * 3600)
}

// changesIn counts the weight changes in [from, to).
func (r plantRun) changesIn(from, to time.Duration) int {
	n := 0
	for _, c := range r.changes {
		if c >= from && c < to {
			n++
		}
	}
	return n
}

// round1 rounds to one decimal, for messages.
func round1(v float64) float64 { return math.Round(10*v) / 10 }
