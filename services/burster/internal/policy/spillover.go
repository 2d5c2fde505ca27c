package policy

import (
	"fmt"
	"math"
	"strings"
)

// spilloverStrategy fills the destinations in spill order: home keeps
// capacity req/s (or the observation's live capacity when measured), each
// next destination what it can carry (its live capacity when measured,
// else without limit), and the last ready one takes the rest. The shares
// are rounded to step. A destination with no ready worker gets nothing:
// what it would have carried goes on to the next. A home with no ready
// worker has no capacity: everything leaves it.
type spilloverStrategy struct {
	capacity float64
	step     int
}

// Target moves only when the exact shares are more than three quarters of
// a step away from the current ones, so noise around a rounding boundary
// cannot flap.
func (s spilloverStrategy) Target(st State, obs Observation) target {
	cur := st.Weights
	rps, capacity, live := obs.RPS, s.capacity, ""
	if obs.CapacityRPS != nil {
		capacity, live = *obs.CapacityRPS, "live "
	}
	ds := make([]spillDest, max(cur.Len(), 1))
	ds[0] = spillDest{capacity: capacity, ready: true}
	var limits []string
	for i := 1; i < len(ds); i++ {
		a := obs.away(i)
		ds[i] = spillDest{capacity: math.Inf(1), ready: true}
		if a.CapacityRPS != nil && i < len(ds)-1 {
			ds[i].capacity = *a.CapacityRPS
			limits = append(limits, fmt.Sprintf("%s %g", cur.Name(i), *a.CapacityRPS))
		}
	}
	excess := 0.0
	if rps > capacity {
		excess = 100 * (rps - capacity) / rps
	}
	reason := fmt.Sprintf("%.1f req/s against a %scapacity of %g req/s: %.1f%% excess", rps, live, capacity, excess)
	if len(limits) > 0 {
		reason += " (then " + strings.Join(limits, ", ") + " req/s)"
	}
	if cur.Len() < 2 {
		return want(cur, reason)
	}
	// What it would send were every destination ready, which the gate
	// reports; then around those without a ready worker.
	wanted := cur.WithWeights(roundSpill(spill(rps, ds), s.step)...)
	for i := 1; i < len(ds); i++ {
		ds[i].ready = !obs.unready(i)
	}
	shares := spill(rps, ds)
	t := target{Split: cur, Reason: reason, Wanted: wanted}
	if !nearSplit(cur, shares, s.step) {
		t.Split = cur.WithWeights(roundSpill(shares, s.step)...)
	}
	return t
}
