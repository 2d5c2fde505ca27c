package promserver

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Flow is a steady stream of requests: RPS of them per second, each taking
// Millis milliseconds.
type Flow struct {
	RPS    float64
	Millis float64
}

// Histogram serves request-duration histograms shaped like Istio's
// istio_request_duration_milliseconds (buckets, _sum, _count) and a request
// counter with the same labels (istio_requests_total), growing as the flows
// the test sets for each label set: the stand-in for what a sidecar reports,
// which Prometheus or the burster's scrape source reads.
type Histogram struct {
	// URL is the server's base URL.
	URL string

	name, counter string
	bounds        []float64 // ms, ascending; +Inf is added

	mu     sync.Mutex
	series map[string]*histSeries // by label set
	order  []string
}

type histSeries struct {
	flows   []Flow
	at      time.Time
	buckets []float64 // cumulative counts per bound, then +Inf
	sum     float64
}

// NewHistogram serves the histogram name (for example
// istio_request_duration_milliseconds) with the given bucket bounds in
// milliseconds and, when counter is not "", a counter of the same requests
// (for example istio_requests_total), until the test ends.
func NewHistogram(t testing.TB, name, counter string, bounds []float64) *Histogram {
	t.Helper()
	h := &Histogram{name: name, counter: counter, bounds: slices.Sorted(slices.Values(bounds)), series: map[string]*histSeries{}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		fmt.Fprint(w, h.page())
	}))
	t.Cleanup(ts.Close)
	h.URL = ts.URL
	return h
}

// Set makes the series with labels (`a="1",b="2"`) grow as flows from now on.
func (h *Histogram) Set(labels string, flows ...Flow) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.series[labels]
	if !ok {
		s = &histSeries{at: time.Now(), buckets: make([]float64, len(h.bounds)+1)}
		h.series[labels] = s
		h.order = append(h.order, labels)
	}
	s.advance(h.bounds)
	s.flows = flows
}

func (s *histSeries) advance(bounds []float64) {
	now := time.Now()
	dt := now.Sub(s.at).Seconds()
	s.at = now
	for _, f := range s.flows {
		n := f.RPS * dt
		for i, b := range bounds {
			if f.Millis <= b {
				s.buckets[i] += n
			}
		}
		s.buckets[len(bounds)] += n
		s.sum += n * f.Millis
	}
}

// page is the text exposition of every series now.
func (h *Histogram) page() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# TYPE %s histogram\n", h.name)
	for _, labels := range h.order {
		s := h.series[labels]
		s.advance(h.bounds)
		for i, bound := range h.bounds {
			fmt.Fprintf(&b, "%s_bucket{%s,le=%q} %f\n", h.name, labels, strconv.FormatFloat(bound, 'g', -1, 64), s.buckets[i])
		}
		total := s.buckets[len(h.bounds)]
		fmt.Fprintf(&b, "%s_bucket{%s,le=\"+Inf\"} %f\n%s_sum{%s} %f\n%s_count{%s} %f\n",
			h.name, labels, total, h.name, labels, s.sum, h.name, labels, total)
	}
	if h.counter != "" {
		fmt.Fprintf(&b, "# TYPE %s counter\n", h.counter)
		for _, labels := range h.order {
			fmt.Fprintf(&b, "%s{%s} %f\n", h.counter, labels, h.series[labels].buckets[len(h.bounds)])
		}
	}
	return b.String()
}

// Host is the server's host:port, a Prometheus scrape target.
func (h *Histogram) Host() string { return strings.TrimPrefix(h.URL, "http://") }
