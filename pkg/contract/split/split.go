// Package split is the value the burster decides and the routers apply: the
// share of the worker's traffic, in percent, that goes to each cluster. It is
// also the JSON shape every process exchanges for it: the burster's status
// API, the local mesh's admin API and the frames the page receives.
package split

import (
	"errors"
	"fmt"
)

// ErrInvalid is returned for weights that are not whole percentages 0..100
// summing to 100. Istio's CRD schema accepts such weights, so the burster
// checks them itself before writing.
var ErrInvalid = errors.New("invalid weights")

// Split is the traffic share of the primary and burst subsets, in percent.
type Split struct {
	Primary int `json:"primary"`
	Burst   int `json:"burst"`
}

// AllPrimary sends everything to the primary cluster.
var AllPrimary = Split{Primary: 100}

// AllBurst sends everything to the burst cluster.
var AllBurst = Split{Burst: 100}

// WithBurst returns the split that sends burst percent to the burst cluster.
func WithBurst(burst int) Split { return Split{Primary: 100 - burst, Burst: burst} }

// Validate reports whether s can be written to a route.
func (s Split) Validate() error {
	if s.Primary < 0 || s.Primary > 100 || s.Burst < 0 || s.Burst > 100 || s.Primary+s.Burst != 100 {
		return fmt.Errorf("%w: primary %d, burst %d (each 0 to 100, summing to 100)", ErrInvalid, s.Primary, s.Burst)
	}
	return nil
}

func (s Split) String() string { return fmt.Sprintf("primary %d / burst %d", s.Primary, s.Burst) }
