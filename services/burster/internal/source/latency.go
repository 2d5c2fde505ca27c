package source

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/meshapi"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
)

// IstioBuckets are the upper bounds, in milliseconds, of Istio's
// istio_request_duration_milliseconds histogram unless the
// sidecar.istio.io/statsHistogramBuckets annotation changes them. The local
// mesh uses the same.
var IstioBuckets = meshapi.LatencyBuckets

// ErrNoBucket means the latency histogram has series, but none with the
// bucket whose upper bound is the objective: nothing can be counted good.
var ErrNoBucket = errors.New("the latency histogram has no bucket at the objective")

// Latency measures each destination's requests over the SLO window and how
// many of them were good: answered, not 5xx, within the objective.
type Latency interface {
	Windows(ctx context.Context) (policy.SLIs, error)
}

// CheckBucket reports whether objective (ms) is one of bounds, and if not
// names the nearest bounds below and above it.
func CheckBucket(objective float64, bounds []float64) error {
	if slices.Contains(bounds, objective) {
		return nil
	}
	s := slices.Sorted(slices.Values(bounds))
	i, _ := slices.BinarySearch(s, objective)
	var near []string
	if i > 0 {
		near = append(near, strconv.FormatFloat(s[i-1], 'g', -1, 64))
	}
	if i < len(s) {
		near = append(near, strconv.FormatFloat(s[i], 'g', -1, 64))
	}
	return fmt.Errorf("%g ms is not a bucket boundary of the latency histogram, so no request can be counted within it exactly; the nearest are %s",
		objective, strings.Join(near, " and "))
}

// windowCounts accumulates the requests and the good ones per destination,
// and whether the objective's bucket was seen at all.
type windowCounts struct {
	slis   policy.SLIs
	names  []string // the destinations, in spill order
	bucket bool     // a series with le = the objective was seen
	any    bool     // any series of ours was seen
}

func newWindowCounts(names []string) *windowCounts {
	w := &windowCounts{names: names}
	if len(names) > 2 {
		w.slis.Further = make([]policy.Window, len(names)-2)
	}
	return w
}

// add counts one bucket series: le is its upper bound, v its count.
func (w *windowCounts) add(dest, code string, le, objective, v float64) {
	i := slices.Index(w.names, dest)
	if i < 0 {
		return
	}
	win := w.slis.At(i)
	w.any = true
	switch {
	case math.IsInf(le, 1):
		win.Requests += v
		if !failed(code) {
			win.Served += v
		}
	case le == objective:
		w.bucket = true
		if !failed(code) {
			win.Good += v
		}
	}
}

func (w *windowCounts) result(objective float64) (policy.SLIs, error) {
	switch {
	case !w.any:
		return policy.SLIs{}, fmt.Errorf("%w: no latency series of primary or burst", ErrNoData)
	case !w.bucket:
		return policy.SLIs{}, fmt.Errorf("%w: no series has le=%g", ErrNoBucket, objective)
	}
	return w.slis, nil
}

// PrometheusLatency evaluates a PromQL query giving, over the SLO window,
// the increase of each latency bucket by the labels destination (primary or
// burst), le and code; and the same query over the recent window.
type PrometheusLatency struct {
	prom, recent         *Prometheus // recent: nil when not measured
	window, recentWindow time.Duration
	objective            float64  // ms
	names                []string // the destinations, in spill order
}

// NewPrometheusLatency returns a latency source querying the Prometheus at
// url. Every "$window" in query is replaced by window, and by recent for
// the recent window's query (0: not measured).
func NewPrometheusLatency(url, query string, window, recent time.Duration, objective float64, timeout time.Duration) (*PrometheusLatency, error) {
	if strings.TrimSpace(query) == "" {
		return nil, errors.New("the latency query is empty")
	}
	over := func(w time.Duration) string { return strings.ReplaceAll(query, "$window", model.Duration(w).String()) }
	p, err := NewPrometheus(url, over(window), timeout)
	if err != nil {
		return nil, err
	}
	out := &PrometheusLatency{prom: p, window: window, recentWindow: recent, objective: objective, names: []string{Primary, Burst}}
	if recent > 0 {
		if out.recent, err = NewPrometheus(url, over(recent), timeout); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Query is the query as run, its window filled in.
func (p *PrometheusLatency) Query() string { return p.prom.query }

// Windows runs the query now, and the recent window's: a failure of that
// one leaves the recent window out (the strategy then reacts to the SLO
// window alone) rather than failing the measurement. Prometheus'
// increase() extrapolates to the range, so the counts span the nominal
// window.
func (p *PrometheusLatency) Windows(ctx context.Context) (policy.SLIs, error) {
	out, err := p.windows(ctx, p.prom, p.window)
	if err != nil || p.recent == nil {
		return out, err
	}
	if recent, err := p.windows(ctx, p.recent, p.recentWindow); err == nil {
		out.Recent = &recent
	}
	return out, nil
}

func (p *PrometheusLatency) windows(ctx context.Context, prom *Prometheus, window time.Duration) (policy.SLIs, error) {
	vec, err := prom.vector(ctx, "the latency")
	if err != nil {
		return policy.SLIs{}, err
	}
	w := newWindowCounts(p.names)
	for _, s := range vec {
		f := float64(s.Value)
		le, err := strconv.ParseFloat(string(s.Metric["le"]), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		w.add(string(s.Metric["destination"]), string(s.Metric["code"]), le, p.objective, f)
	}
	out, err := w.result(p.objective)
	for i := range p.names {
		out.At(i).Seconds = window.Seconds()
	}
	return out, err
}
