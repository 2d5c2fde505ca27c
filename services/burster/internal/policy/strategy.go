package policy

import (
	"fmt"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// Strategy maps a measured rate to the weights it wants. Strategies are pure
// and hold no state; the Policy around them adds the dwell time, the
// readiness gate and the handling of failed measurements, which every
// strategy shares.
type Strategy interface {
	// Target returns the weights wanted for the observation (a rate, and
	// the destinations' live capacity or latency if measured), given the
	// state (the current weights; for slo what it learned), and why.
	Target(st State, obs Observation) target
}

// target is what a strategy wants.
type target struct {
	split.Split
	Reason string
	// Wanted is what it would want were every destination ready: equal
	// to Split, but under a strategy that plans around a destination
	// without a ready worker itself (spillover), where it tells the gate
	// which of them was passed over.
	Wanted split.Split
}

// want is a target that does not plan around readiness.
func want(s split.Split, reason string) target { return target{Split: s, Reason: reason, Wanted: s} }

// newStrategy builds the strategy a validated Config names, but slo, which
// the Policy holds itself.
func newStrategy(c Config) Strategy {
	switch c.Strategy {
	case Step:
		return stepStrategy{band: band{high: c.HighRPS, low: c.LowRPS}, step: c.Step}
	case Spillover:
		return spilloverStrategy{capacity: c.CapacityRPS, step: c.Step}
	default:
		return switchStrategy{band{high: c.HighRPS, low: c.LowRPS}}
	}
}

// band is the hysteresis band of the switch and step strategies: they move
// towards burst above high and back below low, and hold in between.
type band struct{ high, low float64 }

// where tells whether rps is above (1), below (-1) or within (0) the band, and
// says so.
func (b band) where(rps float64) (int, string) {
	switch {
	case rps > b.high:
		return 1, fmt.Sprintf("%.1f req/s above the high threshold %g", rps, b.high)
	case rps < b.low:
		return -1, fmt.Sprintf("%.1f req/s below the low threshold %g", rps, b.low)
	}
	return 0, fmt.Sprintf("%.1f req/s within %g..%g", rps, b.low, b.high)
}
