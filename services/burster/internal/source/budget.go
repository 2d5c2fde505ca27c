package source

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prometheus/common/model"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/slo"
)

// Burn is a burn rate over a window: (1 - SLI) / (1 - target).
type Burn struct {
	Window string
	Rate   float64
}

// BudgetOf is one destination's error budget.
type BudgetOf struct {
	Burns []Burn   // over the short windows, shortest first
	Left  *float64 // the share of the period's budget left: 1 untouched, 0 or less spent; nil: unknown
}

// Budget is each destination's error budget over Period.
type Budget struct {
	Period         string // "3d" from the recording rules; SinceStart from the scrape's counters
	Primary, Burst BudgetOf
}

// SinceStart is the period of a budget counted from the counters' start:
// in the demo, since the demo started.
const SinceStart = "since the counters started"

// BudgetSource measures each destination's error budget.
type BudgetSource interface {
	Budget(ctx context.Context) (Budget, error)
}

// burnOf is the burn rate of good out of requests for target.
func burnOf(requests, good, target float64) float64 {
	return slo.Burn(slo.SLI(good, requests), target)
}

// PrometheusBudget reads the burn rates deploy/prometheus' recording rules
// keep for each cluster: a query giving them by the labels cluster and
// window, whose longest window is the budget's period.
type PrometheusBudget struct {
	prom *Prometheus
}

// NewPrometheusBudget returns a budget source querying the Prometheus at url.
func NewPrometheusBudget(url, query string, timeout time.Duration) (*PrometheusBudget, error) {
	p, err := NewPrometheus(url, query, timeout)
	if err != nil {
		return nil, err
	}
	return &PrometheusBudget{prom: p}, nil
}

// Budget runs the query now: the burns of the shorter windows, and the
// budget left over the longest, 1 - its burn.
func (p *PrometheusBudget) Budget(ctx context.Context) (Budget, error) {
	vec, err := p.prom.vector(ctx, "the error budget")
	if err != nil {
		return Budget{}, err
	}
	type burn struct {
		d    time.Duration
		name string
		rate float64
	}
	var burns [2][]burn
	for _, s := range vec {
		i := index(string(s.Metric["cluster"]))
		d, err := model.ParseDuration(string(s.Metric["window"]))
		f := float64(s.Value)
		if i < 0 || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		burns[i] = append(burns[i], burn{time.Duration(d), string(s.Metric["window"]), f})
	}
	if len(burns[0])+len(burns[1]) == 0 {
		return Budget{}, fmt.Errorf("%w: the budget query returned no burn of primary or burst", ErrNoData)
	}
	var out Budget
	var longest time.Duration
	for i, dst := range []*BudgetOf{&out.Primary, &out.Burst} {
		list := burns[i]
		slices.SortFunc(list, func(a, b burn) int { return cmp.Compare(a.d, b.d) })
		for j, b := range list {
			if j == len(list)-1 && len(list) > 1 {
				left := 1 - b.rate
				dst.Left = &left
				if b.d > longest {
					longest, out.Period = b.d, b.name
				}
				break
			}
			dst.Burns = append(dst.Burns, Burn{Window: b.name, Rate: b.rate})
		}
	}
	return out, nil
}
