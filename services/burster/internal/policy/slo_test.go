package policy

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

func sloCfg() Config {
	c := cfg(SLO)
	c.SLOLatency, c.SLOTarget, c.SLOWindow, c.SLOMinRequests = 250*time.Millisecond, 0.99, 10*time.Second, 20
	c.SLOHeadroom = 0.05
	return c
}

// win is a window of n requests of which a share sli were good.
func win(n, sli float64) Window { return Window{Requests: n, Good: n * sli, Served: n} }

// recent is a recent window of 3 s: primary's and burst's requests, good
// and served.
func recent(pReq, pGood, pServed, bReq float64) *SLIs {
	return &SLIs{Primary: Window{Requests: pReq, Good: pGood, Served: pServed, Seconds: 3},
		Burst: Window{Requests: bReq, Good: bReq, Served: bReq, Seconds: 3}}
}

// with is m with its recent window.
func with(m *SLIs, rc *SLIs) *SLIs { m.Recent = rc; return m }

func TestSLO(t *testing.T) {
	long := t0.Add(-time.Hour) // the last change, long enough ago
	clean := SLOState{CapacityRPS: 20, Measured: true, Quiet: t0}
	tests := []struct {
		name   string
		cur    split.Split
		last   time.Time
		state  SLOState
		rps    float64
		slis   *SLIs
		want   split.Split
		reason string
		check  func(SLOState) string
	}{
		{"queueing: drain at half the capacity it served", split.AllPrimary, long, SLOState{}, 40,
			with(&SLIs{Primary: win(300, 0.8)}, recent(60, 30, 60, 0)), split.WithBurst(77),
			"primary queueing (recent SLI 50.00%, burn 50.0×), served 20.0 req/s: its capacity; draining its queue: burst's share to 77%",
			func(s SLOState) string {
				if s.CapacityRPS != 20 || !s.Measured || !s.Draining || !s.Saturated || s.Quiet != t0 {
					return "want capacity 20 measured, draining"
				}
				return ""
			}},
		{"queueing, both over: burst's share not raised", split.WithBurst(40), long, SLOState{}, 40,
			with(&SLIs{Primary: win(240, 0.9), Burst: win(160, 0.9)}, recent(60, 30, 60, 36)), split.WithBurst(40),
			"both clusters are over their objective: burst's share not raised", nil},
		{"drained: fill to the capacity less the headroom", split.WithBurst(77), long,
			SLOState{CapacityRPS: 20, Measured: true, Draining: true, Quiet: t0}, 40,
			with(&SLIs{Primary: win(100, 0.9), Burst: win(300, 1)}, recent(27, 27, 27, 93)), split.WithBurst(53),
			"primary's queue drained: primary back to 18.9 req/s, its capacity 20.0 req/s less 5%: burst's share to 53%",
			func(s SLOState) string {
				if s.Draining {
					return "still draining"
				}
				return ""
			}},
		{"draining: hold until a recent window since the change", split.WithBurst(77), t0.Add(-2 * time.Second),
			SLOState{CapacityRPS: 20, Measured: true, Draining: true}, 40,
			with(&SLIs{Primary: win(100, 0.9), Burst: win(300, 1)}, recent(27, 27, 27, 93)), split.WithBurst(77),
			"primary's queue draining: holding", nil},
		{"feed-forward: the rate projects primary over its capacity", split.WithBurst(50), long, clean, 50,
			with(&SLIs{Primary: win(200, 1), Burst: win(200, 1)}, recent(60, 60, 60, 75)), split.WithBurst(62),
			"25.0 req/s projected on primary, over its capacity 20.0 req/s: burst's share to 62%", nil},
		{"feed-forward: not on a capacity only seen carried", split.WithBurst(50), long,
			SLOState{CapacityRPS: 20, Quiet: t0}, 50,
			with(&SLIs{Primary: win(250, 1), Burst: win(250, 1)}, recent(60, 60, 60, 75)), split.WithBurst(50),
			"holding: 25.0 req/s on primary", nil},
		{"feed-forward: not on noise within the headroom", split.WithBurst(50), long, clean, 41,
			with(&SLIs{Primary: win(205, 1), Burst: win(205, 1)}, recent(60, 60, 60, 61)), split.WithBurst(50),
			"holding", nil},
		{"over the window without queueing: sized to what it served", split.AllPrimary, long, SLOState{}, 30,
			with(&SLIs{Primary: win(300, 0.9)}, recent(90, 90, 90, 0)), split.WithBurst(5),
			"primary over its objective over the window, served 30.0 req/s: burst's share to 5%", nil},
		{"slack: down to the lowest share within capacity", split.WithBurst(60), long, SLOState{CapacityRPS: 16, Measured: true, Quiet: t0, SlackSince: long}, 20,
			with(&SLIs{Primary: win(80, 1), Burst: win(120, 1)}, recent(24, 24, 24, 36)), split.WithBurst(24),
			"slack: burst's share down to 24% (15.2 req/s projected on primary, within its learned capacity 16.0 req/s)", nil},
		{"slack waits two windows after a change", split.WithBurst(60), t0.Add(-15 * time.Second), SLOState{CapacityRPS: 16, Measured: true, Quiet: t0, SlackSince: long}, 20,
			with(&SLIs{Primary: win(80, 1), Burst: win(120, 1)}, recent(24, 24, 24, 36)), split.WithBurst(60),
			"slack: holding 5s more", nil},
		{"slack must last two windows", split.WithBurst(60), long, SLOState{CapacityRPS: 16, Measured: true, Quiet: t0}, 20,
			with(&SLIs{Primary: win(80, 1), Burst: win(120, 1)}, recent(24, 24, 24, 36)), split.WithBurst(60),
			"slack: holding 20s more",
			func(s SLOState) string {
				if s.SlackSince != t0 {
					return "want the slack's start recorded"
				}
				return ""
			}},
		{"slack: all back at low load", split.WithBurst(60), long, SLOState{CapacityRPS: 16, Measured: true, Quiet: t0, SlackSince: long}, 10,
			with(&SLIs{Primary: win(40, 1), Burst: win(60, 1)}, recent(12, 12, 12, 18)), split.AllPrimary,
			"slack: burst's share down to 0%", nil},
		{"slack: capacity not learned", split.WithBurst(60), long, SLOState{Quiet: t0}, 40,
			with(&SLIs{Primary: win(10, 1), Burst: win(240, 1)}, nil), split.WithBurst(60),
			"holding: primary's capacity not learned yet", nil},
		{"probe after a quiet spell: the headroom more", split.WithBurst(60), long,
			SLOState{CapacityRPS: 16, Measured: true, Quiet: t0.Add(-5 * time.Minute)}, 40,
			with(&SLIs{Primary: win(160, 1), Burst: win(240, 1)}, recent(48, 48, 48, 72)), split.WithBurst(58),
			"no queueing for 5m0s: probe rung 1, offering primary 16.8 req/s, 5% more than its capacity 16.0 req/s: burst's share to 58%",
			func(s SLOState) string {
				if s.Rung != 1 || s.Gained {
					return "want rung 1"
				}
				return ""
			}},
		{"no probe before the spell", split.WithBurst(60), long,
			SLOState{CapacityRPS: 16, Measured: true, Quiet: t0.Add(-4 * time.Minute)}, 40,
			with(&SLIs{Primary: win(160, 1), Burst: win(240, 1)}, recent(48, 48, 48, 72)), split.WithBurst(60),
			"holding", nil},
		{"a rung is judged once an excess of its size could queue past the objective", split.WithBurst(58), t0.Add(-4 * time.Second),
			SLOState{CapacityRPS: 16, Measured: true, Rung: 1, From: 16, Quiet: t0.Add(-5 * time.Minute), ProbeEvery: 5 * time.Minute}, 40,
			with(&SLIs{Primary: win(160, 1), Burst: win(240, 1)}, recent(50, 50, 50, 70)), split.WithBurst(58),
			"probe rung 1: judged 5s after it", nil},
		{"a clean rung raises the capacity and offers twice the increase", split.WithBurst(58), t0.Add(-5 * time.Second),
			SLOState{CapacityRPS: 16, Measured: true, Rung: 1, From: 16, Quiet: t0.Add(-5 * time.Minute), ProbeEvery: 5 * time.Minute}, 40,
			with(&SLIs{Primary: win(160, 1), Burst: win(240, 1)}, recent(50, 50, 50, 70)), split.WithBurst(54),
			"probe rung 2: primary carried 16.8 req/s within its objective; offering it 10% more: burst's share to 54%",
			func(s SLOState) string {
				if s.Rung != 2 || !s.Gained || math.Abs(s.CapacityRPS-16.8) > 0.01 {
					return "want rung 2 gained at 16.8"
				}
				return ""
			}},
		{"queueing on a first rung: the next probe waits twice as long", split.WithBurst(58), t0.Add(-5 * time.Second),
			SLOState{CapacityRPS: 20, Measured: true, Rung: 1, Quiet: t0.Add(-5 * time.Minute), ProbeEvery: 5 * time.Minute}, 40,
			with(&SLIs{Primary: win(160, 1), Burst: win(240, 1)}, recent(60, 50, 60, 70)), split.WithBurst(77),
			"primary queueing on the probe's rung",
			func(s SLOState) string {
				if s.Rung != 0 || s.ProbeEvery != 10*time.Minute || !s.Draining {
					return "want the probe over, draining, the next in 10m"
				}
				return ""
			}},
		{"a rung answered less than it was sent: queueing before any answer is late", split.WithBurst(50), t0.Add(-5 * time.Second),
			SLOState{CapacityRPS: 20, Measured: true, Rung: 1, From: 20, Quiet: t0.Add(-5 * time.Minute), ProbeEvery: 5 * time.Minute}, 44,
			with(&SLIs{Primary: win(200, 1), Burst: win(200, 1)}, recent(60, 60, 60, 66)), split.WithBurst(79),
			"primary queueing on the probe's rung",
			func(s SLOState) string {
				if s.Rung != 0 || !s.Draining || s.ProbeEvery != 10*time.Minute {
					return "want the probe over and draining"
				}
				return ""
			}},
		{"capacity lost during a rung: the next probe waits no longer", split.WithBurst(50), t0.Add(-5 * time.Second),
			SLOState{CapacityRPS: 20, Measured: true, Rung: 1, From: 20, Quiet: t0.Add(-5 * time.Minute), ProbeEvery: 5 * time.Minute}, 40,
			with(&SLIs{Primary: win(200, 1), Burst: win(200, 1)}, recent(39, 20, 39, 60)), split.WithBurst(85),
			"primary queueing on the probe's rung, far below the 20.0 req/s it carried before",
			func(s SLOState) string {
				if s.Rung != 0 || !s.Draining || s.ProbeEvery != 5*time.Minute || s.CapacityRPS != 13 {
					return "want the probe over, draining from 13 req/s, the next probe in 5m"
				}
				return ""
			}},
		{"no data: hold", split.WithBurst(60), long, clean, 1, &SLIs{Primary: win(10, 1), Burst: win(5, 1)},
			split.WithBurst(60), "no data: 15 requests in the last 10s, fewer than the 20 the SLO needs: holding", nil},
		{"no latency measured: hold", split.WithBurst(60), long, clean, 40, nil,
			split.WithBurst(60), "no latency measured yet (no data in the SLO window): holding", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sloCfg()
			c.SLOProbe = 5 * time.Minute
			p := mustNew(t, c)
			st := State{Weights: tt.cur, LastChange: tt.last, SLO: tt.state}
			st, d := p.Next(st, Observation{At: t0, RPS: tt.rps, SLO: tt.slis})
			if d.Weights != tt.want || st.Weights != tt.want || d.Changed != (tt.want != tt.cur) {
				t.Fatalf("Next = %v (changed %v), want %v; reason %q", d.Weights, d.Changed, tt.want, d.Reason)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("reason %q lacks %q", d.Reason, tt.reason)
			}
			if tt.check != nil {
				if problem := tt.check(st.SLO); problem != "" {
					t.Fatalf("state %+v: %s", st.SLO, problem)
				}
			}
		})
	}
}

// TestSLOHeadroomValidated: the headroom is a share in (0, 0.5].
func TestSLOHeadroomValidated(t *testing.T) {
	for _, h := range []float64{0, -0.1, 0.6} {
		c := sloCfg()
		c.SLOHeadroom = h
		var se *SettingError
		if err := c.Validate(); !errors.As(err, &se) || se.Setting != SettingSLOHeadroom {
			t.Fatalf("headroom %v: %v, want a SettingSLOHeadroom error", h, err)
		}
	}
}

// TestSLOSpillOrder: with three destinations, the share the slo strategy
// moves off primary fills burst up to what it can carry and spills the rest
// to burst-2; a destination without a ready worker, or over its own
// objective, gets no more and its excess goes on; coming down empties the
// last first; noise within a few percent moves nothing.
// TestSLOSpillSettles: with primary's share unchanged, burst keeps its
// share while it carries no more than its capacity and no less than its
// capacity less twice the margin; over it, it gets its capacity less the
// margin at once; short of the band, once a whole SLO window has passed
// under the split.
func TestSLOSpillSettles(t *testing.T) {
	clean := SLOState{CapacityRPS: 20, Measured: true, Quiet: t0}
	away := []Away{{Ready: ptr(true), CapacityRPS: ptr(20.0)}, {Ready: ptr(true)}}
	m := with(&SLIs{Primary: win(190, 1), Burst: win(190, 1), Further: []Window{win(120, 1)}}, recent(57, 57, 57, 93))
	tests := []struct {
		name  string
		since time.Duration // from the last change, the SLO window being 10 s
		cur   split.Split
		want  split.Split
	}{
		{"within its band: held", 10 * time.Second, three(38, 37, 25), three(38, 37, 25)},
		{"short of its band, within a window of the change: held", 4 * time.Second, three(38, 30, 32), three(38, 30, 32)},
		{"short of its band a window after it: filled", 10 * time.Second, three(38, 30, 32), three(38, 38, 24)},
		{"over its capacity: back within it at once", 4 * time.Second, three(38, 42, 20), three(38, 38, 24)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sloCfg()
			c.SLOProbe = 5 * time.Minute
			p := mustNew(t, c)
			_, d := p.Next(State{Weights: tt.cur, LastChange: t0.Add(-tt.since), SLO: clean}, Observation{At: t0, RPS: 50, Away: away, SLO: m})
			if d.Weights != tt.want {
				t.Fatalf("Next = %v, want %v; reason %q", d.Weights, tt.want, d.Reason)
			}
		})
	}
}

func TestSLOSpillOrder(t *testing.T) {
	long := t0.Add(-time.Hour)
	clean := SLOState{CapacityRPS: 20, Measured: true, Quiet: t0}
	ready, unready := ptr(true), ptr(false)
	burst20 := Away{Ready: ready, CapacityRPS: ptr(20.0)}
	both := []Away{burst20, {Ready: ready}}
	// slis are the SLO windows of the three (10 s) and the recent ones
	// (3 s): primary's, and what the two after it answered together.
	slis := func(p, b, e Window, rp, ra float64) *SLIs {
		return with(&SLIs{Primary: p, Burst: b, Further: []Window{e}}, recent(rp, rp, rp, ra))
	}
	tests := []struct {
		name    string
		cur     split.Split
		rps     float64
		away    []Away
		slis    *SLIs
		want    split.Split
		blocked bool
		reason  string
	}{
		{"feed-forward: burst up to its capacity less the margin, burst-2 the rest", three(100, 0, 0), 50, both,
			slis(win(200, 1), win(0, 1), win(0, 1), 150, 0), three(38, 38, 24), false,
			"50.0 req/s projected on primary, over its capacity 20.0 req/s"},
		{"settled: held", three(38, 38, 24), 50, both,
			slis(win(190, 1), win(190, 1), win(120, 1), 57, 93), three(38, 38, 24), false, "holding"},
		{"noise within the band: held", three(38, 38, 24), 51, both,
			slis(win(190, 1), win(190, 1), win(120, 1), 57, 95), three(38, 38, 24), false, "holding"},
		{"burst under its capacity: filled before burst-2", three(38, 30, 32), 50, both,
			slis(win(190, 1), win(150, 1), win(160, 1), 57, 93), three(38, 38, 24), false, "spilled primary 38 / burst 38 / burst-2 24"},
		{"burst over its objective: no more for it, the excess to burst-2", three(38, 30, 32), 50, both,
			slis(win(190, 1), win(150, 0.9), win(160, 1), 57, 93), three(38, 30, 32), false, "burst SLI 90.00%"},
		{"burst without a ready worker: its share on to burst-2 at once", three(38, 40, 22), 50, []Away{{Ready: unready, CapacityRPS: ptr(20.0)}, {Ready: ready}},
			slis(win(190, 1), win(200, 1), win(110, 1), 57, 93), three(38, 0, 62), true,
			"the burst cluster has no ready worker: now primary 38 / burst 0 / burst-2 62"},
		{"burst-2 without a ready worker: burst takes the rest", three(38, 40, 22), 50, []Away{burst20, {Ready: unready}},
			slis(win(190, 1), win(200, 1), win(110, 1), 57, 93), three(38, 62, 0), true, "burst-2 has no ready worker"},
		{"none ready: all home", three(38, 40, 22), 50, []Away{{Ready: unready}, {Ready: unready}},
			slis(win(190, 1), win(200, 1), win(110, 1), 57, 93), three(100, 0, 0), true, "all back to primary"},
		{"coming down empties the last first", three(38, 40, 22), 30, both,
			slis(win(114, 1), win(120, 1), win(66, 1), 34, 56), three(38, 62, 0), false, "slack: holding"},
		{"every cluster over its objective: nothing more leaves primary", three(38, 40, 22), 50, both,
			with(&SLIs{Primary: win(190, 0.9), Burst: win(200, 0.9), Further: []Window{win(110, 0.9)}}, recent(60, 30, 60, 93)),
			three(38, 40, 22), false, "every cluster is over its objective: no share moved off primary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sloCfg()
			c.SLOProbe = 5 * time.Minute
			p := mustNew(t, c)
			st, d := p.Next(State{Weights: tt.cur, LastChange: long, SLO: clean}, Observation{At: t0, RPS: tt.rps, Away: tt.away, SLO: tt.slis})
			if d.Weights != tt.want || st.Weights != tt.want || d.Changed != (tt.want != tt.cur) {
				t.Fatalf("Next = %v (changed %v), want %v; reason %q", d.Weights, d.Changed, tt.want, d.Reason)
			}
			if err := d.Weights.Validate(); err != nil {
				t.Fatal(err)
			}
			if d.BurstNotReady() != tt.blocked || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("BurstNotReady %v, reason %q; want %v and %q", d.BurstNotReady(), d.Reason, tt.blocked, tt.reason)
			}
		})
	}
}
