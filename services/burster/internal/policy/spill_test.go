package policy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// three is a split across three destinations in spill order.
func three(p, b, e int) split.Split {
	return split.Of(split.Share{Name: "primary", Weight: p}, split.Share{Name: "burst", Weight: b}, split.Share{Name: "burst-2", Weight: e})
}

func ptr[T any](v T) *T { return &v }

// TestSpillOrder: spillover across three destinations fills each in order
// up to what it can carry, passes over a full or unready one, empties the
// last first as the rate falls, and the last ready one takes the rest.
func TestSpillOrder(t *testing.T) {
	c := cfg(Spillover)
	c.CapacityRPS, c.Step, c.MinDwell = 20, 1, 0
	p := mustNew(t, c)
	ready, unready := ptr(true), ptr(false)
	burst20 := Away{Ready: ready, CapacityRPS: ptr(20.0)}
	tests := []struct {
		name    string
		cur     split.Split
		rps     float64
		live    *float64 // home's live capacity
		away    []Away
		want    split.Split
		blocked bool // BurstNotReady
		reason  string
	}{
		{name: "all home within capacity", cur: three(100, 0, 0), rps: 15, away: []Away{burst20, {Ready: ready}}, want: three(100, 0, 0)},
		{name: "home full: the next takes the excess", cur: three(100, 0, 0), rps: 30, away: []Away{burst20, {Ready: ready}}, want: three(67, 33, 0)},
		{name: "home and burst full: the last takes the rest", cur: three(100, 0, 0), rps: 50, away: []Away{burst20, {Ready: ready}}, want: three(40, 40, 20),
			reason: "(then burst 20 req/s)"},
		{name: "the last takes the rest however much", cur: three(40, 40, 20), rps: 200, away: []Away{burst20, {Ready: ready}}, want: three(10, 10, 80)},
		{name: "a full destination is passed over", cur: three(100, 0, 0), rps: 50, away: []Away{{Ready: ready, CapacityRPS: ptr(0.0)}, {Ready: ready}}, want: three(40, 0, 60)},
		{name: "an unready destination is passed over", cur: three(100, 0, 0), rps: 50, away: []Away{{Ready: unready, CapacityRPS: ptr(20.0)}, {Ready: ready}}, want: three(40, 0, 60),
			blocked: true, reason: "the burst cluster has no ready worker"},
		{name: "an unready destination's share moves on at once", cur: three(40, 40, 20), rps: 50, away: []Away{{Ready: unready, CapacityRPS: ptr(20.0)}, {Ready: ready}}, want: three(40, 0, 60),
			blocked: true, reason: "the burst cluster has no ready worker: now primary 40 / burst 0 / burst-2 60"},
		{name: "the last unready: the one before takes the rest", cur: three(40, 40, 20), rps: 50, away: []Away{burst20, {Ready: unready}}, want: three(40, 60, 0),
			blocked: true, reason: "burst-2 has no ready worker"},
		{name: "none ready: all home", cur: three(40, 40, 20), rps: 50, away: []Away{{Ready: unready}, {Ready: unready}}, want: three(100, 0, 0),
			blocked: true, reason: "burst and burst-2 have no ready worker: all back to primary"},
		{name: "coming down empties the last first", cur: three(40, 40, 20), rps: 35, away: []Away{burst20, {Ready: ready}}, want: three(57, 43, 0)},
		{name: "coming down further empties the next", cur: three(57, 43, 0), rps: 18, away: []Away{burst20, {Ready: ready}}, want: three(100, 0, 0)},
		{name: "home without a ready worker: all leaves it", cur: three(100, 0, 0), rps: 30, live: ptr(0.0), away: []Away{burst20, {Ready: ready}}, want: three(0, 67, 33)},
		{name: "unknown readiness gates nothing", cur: three(100, 0, 0), rps: 50, want: three(40, 60, 0)},
		{name: "within a step of the exact shares: held", cur: three(40, 40, 20), rps: 50.2, away: []Away{burst20, {Ready: ready}}, want: three(40, 40, 20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, d := p.Next(State{Weights: tt.cur, LastChange: t0.Add(-time.Hour)},
				Observation{At: t0, RPS: tt.rps, CapacityRPS: tt.live, Away: tt.away})
			if d.Weights != tt.want || st.Weights != tt.want || d.Changed != (tt.want != tt.cur) {
				t.Fatalf("%v at %g req/s: decided %v (changed %v), want %v; %s", tt.cur, tt.rps, d.Weights, d.Changed, tt.want, d.Reason)
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

// TestSpillTwoUnchanged: with two destinations the spill order decides
// exactly what spillover always did: the excess over home's capacity,
// rounded to the step, with the same hysteresis.
func TestSpillTwoUnchanged(t *testing.T) {
	for _, step := range []int{1, 5, 10, 20, 30} {
		c := cfg(Spillover)
		c.Step, c.MinDwell = step, 0
		p := mustNew(t, c)
		for cur := 0; cur <= 100; cur += 10 {
			for rps := 0.0; rps <= 120; rps += 0.5 {
				// What spillover computed with two destinations only.
				share := 0.0
				if rps > c.CapacityRPS {
					share = 100 * (rps - c.CapacityRPS) / rps
				}
				want := split.WithBurst(cur)
				if math.Abs(share-float64(cur)) > 0.75*float64(step) {
					want = split.WithBurst(min(100, int(math.Round(share/float64(step)))*step))
				}
				_, d := p.Next(State{Weights: split.WithBurst(cur)}, Observation{At: t0, RPS: rps})
				if d.Weights != want {
					t.Fatalf("step %d, burst %d%%, %g req/s: %v, want %v", step, cur, rps, d.Weights, want)
				}
			}
		}
	}
}

// TestSpillWarming: a destination scaling up gets no first share; one
// already carrying traffic goes on.
func TestSpillWarming(t *testing.T) {
	c := cfg(Spillover)
	c.CapacityRPS, c.Step, c.MinDwell = 20, 1, 0
	p := mustNew(t, c)
	warming := Away{Ready: ptr(true), Warming: "burst-2 is scaling up (1 of 3 workers ready)"}
	burst := Away{Ready: ptr(true), CapacityRPS: ptr(20.0)}
	_, d := p.Next(State{Weights: three(67, 33, 0)}, Observation{At: t0, RPS: 50, Away: []Away{burst, warming}})
	if d.Changed || !strings.Contains(d.Reason, warming.Warming+": holding") {
		t.Fatalf("first share to a warming destination: %+v", d)
	}
	_, d = p.Next(State{Weights: three(50, 40, 10)}, Observation{At: t0, RPS: 50, Away: []Away{burst, warming}})
	if !d.Changed || d.Weights != three(40, 40, 20) {
		t.Fatalf("a warming destination already carrying traffic: %+v", d)
	}
}

// TestSpillRounding: the weights always sum to 100, and a destination with
// no share of its own never gets weight from rounding.
func TestSpillRounding(t *testing.T) {
	for _, step := range []int{1, 3, 7, 20, 33} {
		for a := 0.0; a <= 100; a += 2.5 {
			for b := 0.0; a+b <= 100; b += 2.5 {
				shares := []float64{a, 0, b, 100 - a - b}
				w := roundSpill(shares, step)
				sum := 0
				for _, x := range w {
					sum += x
					if x < 0 {
						t.Fatalf("step %d, shares %v: negative weight %v", step, shares, w)
					}
				}
				if sum != 100 || w[1] != 0 {
					t.Fatalf("step %d, shares %v: weights %v", step, shares, w)
				}
			}
		}
	}
}
