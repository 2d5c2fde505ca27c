// Package source measures the worker's request rate. Every source tells
// apart three outcomes: a value, no data (ErrNoData: nothing measured yet, or
// the series is absent), and an error (the source could not be asked). The
// burster never reads either of the last two as zero load.
package source

import (
	"context"
	"errors"
)

// ErrNoData means the source answered but has no value to give.
var ErrNoData = errors.New("no data")

// Source returns the current request rate in requests per second.
type Source interface {
	Rate(ctx context.Context) (float64, error)
}
