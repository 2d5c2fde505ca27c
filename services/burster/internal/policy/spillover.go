package policy

import (
	"fmt"
	"math"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// spilloverStrategy keeps capacity req/s on primary and sends the excess to
// burst: the burst share is (rps - capacity) / rps, rounded to step.
type spilloverStrategy struct {
	capacity float64
	step     int
}

// Target moves only when the exact share is more than three quarters of a
// step away from the current one, so noise around a rounding boundary cannot
// flap.
func (s spilloverStrategy) Target(cur split.Split, rps float64) (split.Split, string) {
	share := 0.0
	if rps > s.capacity {
		share = 100 * (rps - s.capacity) / rps
	}
	reason := fmt.Sprintf("%.1f req/s against a capacity of %g req/s: %.1f%% excess", rps, s.capacity, share)
	if math.Abs(share-float64(cur.Burst)) <= 0.75*float64(s.step) {
		return cur, reason
	}
	burst := int(math.Round(share/float64(s.step))) * s.step
	return split.WithBurst(min(100, burst)), reason
}
