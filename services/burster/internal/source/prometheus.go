package source

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Prometheus evaluates a PromQL query that returns one number.
type Prometheus struct {
	api     promv1.API
	query   string
	timeout time.Duration
}

// NewPrometheus returns a source querying the Prometheus at url. timeout
// bounds each query.
func NewPrometheus(url, query string, timeout time.Duration) (*Prometheus, error) {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return nil, fmt.Errorf("creating prometheus client for %q: %w", url, err)
	}
	return &Prometheus{api: promv1.NewAPI(c), query: query, timeout: timeout}, nil
}

// Rate runs the query now. An empty result, or a NaN such as 0/0, is
// ErrNoData; more than one series is an error, since the query must be
// aggregated to one number.
func (p *Prometheus) Rate(ctx context.Context) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	v, _, _, err := p.api.Query(ctx, p.query, time.Now())
	if err != nil {
		return 0, fmt.Errorf("querying prometheus: %w", err)
	}
	var f model.SampleValue
	switch v := v.(type) {
	case model.Vector:
		switch len(v) {
		case 0:
			return 0, fmt.Errorf("%w: query returned no series", ErrNoData)
		case 1:
			f = v[0].Value
		default:
			return 0, fmt.Errorf("query returned %d series, want one (aggregate it, e.g. with sum)", len(v))
		}
	case *model.Scalar:
		f = v.Value
	default:
		return 0, fmt.Errorf("query returned a %s, want a vector or a scalar", v.Type())
	}
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return 0, fmt.Errorf("%w: query returned %v", ErrNoData, f)
	}
	return float64(f), nil
}

// vector runs the query now and returns its vector; what names the query
// in errors ("the destinations").
func (p *Prometheus) vector(ctx context.Context, what string) (model.Vector, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	v, _, _, err := p.api.Query(ctx, p.query, time.Now())
	if err != nil {
		return nil, fmt.Errorf("querying prometheus for %s: %w", what, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("the query for %s returned a %s, want a vector", what, v.Type())
	}
	return vec, nil
}
