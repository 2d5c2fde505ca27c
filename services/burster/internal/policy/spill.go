package policy

import (
	"math"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// spillDest is what the spill order knows of one destination.
type spillDest struct {
	// capacity is the rate it can carry, in req/s; +Inf: unlimited.
	capacity float64
	// ready is false for a destination without a ready worker: it gets
	// nothing, whatever its capacity.
	ready bool
}

// spill fills the destinations in order: each ready one takes what it can
// carry of what the ones before it could not, and the last ready one takes
// the rest. It returns each destination's exact share of rps, in percent.
// With no ready destination at all, home takes everything: there is nowhere
// better to send it.
func spill(rps float64, ds []spillDest) []float64 {
	shares := make([]float64, len(ds))
	last := -1
	for i, d := range ds {
		if d.ready {
			last = i
		}
	}
	if last < 0 || !(rps > 0) {
		shares[0] = 100
		return shares
	}
	left := rps
	for i, d := range ds[:last] {
		if !d.ready {
			continue
		}
		take := min(left, max(0, d.capacity))
		shares[i] = 100 * take / rps
		left -= take
	}
	shares[last] = 100 * left / rps
	return shares
}

// tails are the shares from each destination on: tails[k] is the sum of
// shares[k:], so tails[0] is the whole and tails[1] what leaves home.
func tails(shares []float64) []float64 {
	out := make([]float64, len(shares))
	sum := 0.0
	for k := len(shares) - 1; k >= 0; k-- {
		sum += shares[k]
		out[k] = sum
	}
	return out
}

// roundSpill turns exact shares into weights in steps of step percent that
// sum to 100: it rounds what spills past each destination (the tails) to
// the step, so a destination's weight is the difference of two rounded
// tails. A destination with no share of its own gets no weight, and with
// two destinations the burst weight is the burst share rounded to the step.
func roundSpill(shares []float64, step int) []int {
	return roundTails(shares, func(_ int, t float64) int { return int(math.Round(t/float64(step))) * step })
}

// roundWithin turns exact shares into whole-percent weights that sum to
// 100 and give no destination but the last more than its exact share: what
// spills past each destination after the first two is rounded up, so the
// one before it is rounded down.
func roundWithin(shares []float64) []int {
	return roundTails(shares, func(k int, t float64) int {
		if k >= 2 {
			return int(math.Ceil(t - 1e-9))
		}
		return int(math.Round(t))
	})
}

// roundTails is the weights whose tails are round(k, tail k) for each k
// past home, each within 0 and the tail before it.
func roundTails(shares []float64, round func(k int, tail float64) int) []int {
	t := tails(shares)
	rounded := make([]int, len(t)+1) // rounded[len] = 0: nothing spills past the last
	rounded[0] = 100
	for k := 1; k < len(t); k++ {
		rounded[k] = min(rounded[k-1], max(0, round(k, t[k])))
	}
	weights := make([]int, len(shares))
	for i := range weights {
		weights[i] = rounded[i] - rounded[i+1]
	}
	return weights
}

// nearSplit reports whether cur is within three quarters of a step of the
// exact shares at every tail: noise around a rounding boundary must not
// flap the weights.
func nearSplit(cur split.Split, shares []float64, step int) bool {
	want := tails(shares)
	curTails := tails(floats(cur.Weights()))
	for k := 1; k < len(want) && k < len(curTails); k++ {
		if math.Abs(want[k]-curTails[k]) > 0.75*float64(step) {
			return false
		}
	}
	return len(want) == len(curTails)
}

func floats(ws []int) []float64 {
	out := make([]float64, len(ws))
	for i, w := range ws {
		out[i] = float64(w)
	}
	return out
}
