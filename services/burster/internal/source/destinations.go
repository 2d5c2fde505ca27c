package source

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/slo"
)

// Destination names, as the destinations query and the scrape's destination
// label give them.
const (
	Primary = "primary"
	Burst   = "burst"
)

// Traffic is what one destination was sent, in requests per second over the
// source's window, and how much of it failed: answered with a 5xx status,
// which is also what a mesh answers for a destination it cannot reach.
type Traffic struct {
	RPS       float64
	FailedRPS float64
}

// Destinations is the traffic of each destination.
type Destinations struct {
	Primary, Burst Traffic
}

// DestinationSource measures each destination's traffic, so that a
// destination answering only errors is seen as failing rather than as load.
type DestinationSource interface {
	Destinations(ctx context.Context) (Destinations, error)
}

// add counts rps requests answered with code to destination dest; other
// destinations are not ours and are left out.
func (d *Destinations) add(dest, code string, rps float64) {
	i := index(dest)
	if i < 0 {
		return
	}
	t := [2]*Traffic{&d.Primary, &d.Burst}[i]
	t.RPS += rps
	if failed(code) {
		t.FailedRPS += rps
	}
}

// index is a destination's place: 0 primary, 1 burst, -1 neither.
func index(dest string) int {
	switch dest {
	case Primary:
		return 0
	case Burst:
		return 1
	}
	return -1
}

// failed reports whether a response code is a failure, as the project's
// service level defines it (package slo): a 5xx, or no answer at all.
func failed(code string) bool { return slo.Failed(code) }

// PrometheusDestinations evaluates a PromQL query giving request rates by
// the labels destination (primary or burst) and code (the HTTP status).
type PrometheusDestinations struct {
	prom *Prometheus // its query is the destinations query
}

// NewPrometheusDestinations returns a destination source querying the
// Prometheus at url.
func NewPrometheusDestinations(url, query string, timeout time.Duration) (*PrometheusDestinations, error) {
	if strings.TrimSpace(query) == "" {
		return nil, fmt.Errorf("the destinations query is empty")
	}
	p, err := NewPrometheus(url, query, timeout)
	if err != nil {
		return nil, err
	}
	return &PrometheusDestinations{prom: p}, nil
}

// Destinations runs the query now. No series at all is ErrNoData; series of
// other destinations are ignored.
func (p *PrometheusDestinations) Destinations(ctx context.Context) (Destinations, error) {
	vec, err := p.prom.vector(ctx, "the destinations")
	if err != nil {
		return Destinations{}, err
	}
	if len(vec) == 0 {
		return Destinations{}, fmt.Errorf("%w: the destinations query returned no series", ErrNoData)
	}
	var d Destinations
	for _, s := range vec {
		f := float64(s.Value)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		d.add(string(s.Metric["destination"]), string(s.Metric["code"]), f)
	}
	return d, nil
}
