package policy

import (
	"fmt"
	"math"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// spilloverStrategy keeps capacity req/s on primary, or the observation's
// live capacity when measured, and sends the excess to burst: the burst
// share is (rps - capacity) / rps, rounded to step. A primary with no ready
// worker has no capacity: everything goes to burst.
type spilloverStrategy struct {
	capacity float64
	step     int
}

// Target moves only when the exact share is more than three quarters of a
// step away from the current one, so noise around a rounding boundary cannot
// flap.
func (s spilloverStrategy) Target(st State, obs Observation) (split.Split, string) {
	cur := st.Weights
	rps, capacity, live := obs.RPS, s.capacity, ""
	if obs.CapacityRPS != nil {
		capacity, live = *obs.CapacityRPS, "live "
	}
	share := 0.0
	if rps > capacity {
		share = 100 * (rps - capacity) / rps
	}
	reason := fmt.Sprintf("%.1f req/s against a %scapacity of %g req/s: %.1f%% excess", rps, live, capacity, share)
	if math.Abs(share-float64(cur.Burst)) <= 0.75*float64(s.step) {
		return cur, reason
	}
	burst := int(math.Round(share/float64(s.step))) * s.step
	return split.WithBurst(min(100, burst)), reason
}
