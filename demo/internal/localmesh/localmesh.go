// Package localmesh is the local demo's stand-in for the Istio sidecar: a
// reverse proxy that sends each request to one of its destinations' workers
// (primary, burst, and any further burst clusters, in spill order)
// according to weights, counts requests per destination in Prometheus format,
// and has an admin API to read and set the weights. Once probing, it follows
// each backend's readiness (its /readyz) as a cluster's EndpointSlices would,
// answers 503 for a destination that is not ready without trying it, as
// Envoy does with no healthy endpoint, and reports the readiness on the admin
// API. Given a capacity (Backend.CapacityRPS), it serves a destination no
// faster than a fixed-size cluster would, queueing the rest in order up to
// a bound and answering 503 beyond it; primary's capacity can be changed
// while it serves (SetPrimaryCapacity, PUT CapacityPath), as a cluster that
// lost or gained nodes. It records each request's duration, queueing
// included, per destination in a histogram with Istio's buckets, which the
// burster's SLO strategy reads as it reads Istio's. In a cluster none of this
// exists: the frontend's Envoy sidecar applies the VirtualService's weights.
package localmesh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/meshapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/pkg/telemetry"
)

// Primary is the first destination, the one whose capacity the admin API
// changes (PUT CapacityPath) and the metric localmesh_primary_capacity_rps
// reports.
const Primary = "primary"

// maxIdlePerUpstream keeps enough warm connections for the frontend's
// highest rates without redialling.
const maxIdlePerUpstream = 256

// Backend is one destination the mesh routes to: a cluster's worker.
type Backend struct {
	Name string
	URL  *url.URL
	// CapacityRPS is the rate it serves, the rest queued (0: unlimited).
	CapacityRPS float64
}

// Mesh routes requests between upstreams, in the order of the split's
// destinations.
type Mesh struct {
	names    []string
	proxies  []*httputil.ReverseProxy
	backends []*url.URL
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	limits   []limiter // each destination's capacity
	capacity prometheus.Gauge
	ready    []atomic.Bool // true until a probe (or a refused connection) says otherwise
	readyVec *prometheus.GaugeVec
	probing  atomic.Bool // Probe runs: it alone makes a backend ready again

	mu      sync.Mutex
	weights []int
	current []int // smooth weighted round-robin state
}

// New returns a Mesh routing to backends (2 to split.Max, the first named
// primary, each name once), sending everything to the first until told
// otherwise. A request to a destination with a capacity queues up to
// queueWait for its turn. A backend that cannot be reached is answered 502
// and logged to log, at most once a second with the count held back (nil:
// not logged).
func New(backends []Backend, queueWait time.Duration, reg prometheus.Registerer, log *slog.Logger) (*Mesh, error) {
	names := make([]string, len(backends))
	for i, b := range backends {
		names[i] = b.Name
	}
	if len(names) < 2 || len(names) > split.Max || names[0] != Primary || split.Home(names...).Validate() != nil {
		return nil, fmt.Errorf("the mesh's destinations %v: 2 to %d, the first named %s, each named once", names, split.Max, Primary)
	}
	if queueWait < 0 {
		return nil, fmt.Errorf("the queue's wait must not be negative, got %s", queueWait)
	}
	transport := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        2 * maxIdlePerUpstream,
		MaxIdleConnsPerHost: maxIdlePerUpstream,
		IdleConnTimeout:     90 * time.Second,
	}
	n := len(backends)
	m := &Mesh{
		names:    names,
		proxies:  make([]*httputil.ReverseProxy, n),
		backends: make([]*url.URL, n),
		limits:   make([]limiter, n),
		ready:    make([]atomic.Bool, n),
		weights:  make([]int, n),
		current:  make([]int, n),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "localmesh_requests_total",
			Help: "Requests proxied, by destination (primary, burst, ...) and response code.",
		}, []string{"destination", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "localmesh_request_duration_milliseconds",
			Help:    "Time from a request's arrival to its answer, queueing included, by destination and response code; Istio's buckets.",
			Buckets: meshapi.LatencyBuckets,
		}, []string{"destination", "code"}),
		capacity: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "localmesh_primary_capacity_rps",
			Help: "Requests per second primary serves, the rest queued; 0: unlimited.",
		}),
		readyVec: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "localmesh_backend_ready",
			Help: "1 while the destination's backend answers its /readyz, else 0.",
		}, []string{"destination"}),
	}
	m.weights[0] = 100
	limit := &telemetry.Limit{Every: time.Second}
	for i, b := range backends {
		if b.URL == nil {
			return nil, fmt.Errorf("destination %s has no URL", b.Name)
		}
		m.limits[i].maxWait = queueWait
		if err := m.setCapacity(i, b.CapacityRPS); err != nil {
			return nil, fmt.Errorf("destination %s: %w", b.Name, err)
		}
		target, dest := b.URL, b.Name
		m.backends[i] = target
		m.proxies[i] = &httputil.ReverseProxy{
			Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.Out.Host = pr.In.Host },
			Transport: transport,
			// Instead of a line per failed request on the standard logger.
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				if ok, held := limit.Allow(); ok && log != nil {
					log.Warn("proxying failed", "destination", dest, "err", err, "heldBack", held)
				}
				// A backend that refuses connections has no worker: it is
				// not ready until a probe finds it answering again (as
				// Envoy's outlier detection ejects a host on connect
				// failures), so the burster reads it at once.
				if errors.Is(err, syscall.ECONNREFUSED) && m.probing.Load() {
					m.setReady(i, false)
				}
				w.WriteHeader(http.StatusBadGateway)
			},
		}
	}
	if err := registerAll(reg, m.requests, m.duration, m.readyVec, m.capacity); err != nil {
		return nil, err
	}
	// The series exist at zero from the start: a reader of the rate (the
	// burster) sees an idle mesh as 0 req/s, not as no data.
	for i, d := range names {
		m.requests.WithLabelValues(d, strconv.Itoa(http.StatusOK))
		m.setReady(i, true)
	}
	return m, nil
}

func registerAll(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("registering the mesh's metrics: %w", err)
		}
	}
	return nil
}

// Destinations are the mesh's destinations, in the split's order.
func (m *Mesh) Destinations() []string { return slices.Clone(m.names) }

// setReady records backend i's readiness.
func (m *Mesh) setReady(i int, ready bool) {
	m.ready[i].Store(ready)
	v := 0.0
	if ready {
		v = 1
	}
	m.readyVec.WithLabelValues(m.names[i]).Set(v)
}

// Endpoints is how many ready endpoints each destination has: its one
// backend, or none.
func (m *Mesh) Endpoints() meshapi.Endpoints {
	e := make(meshapi.Endpoints, len(m.names))
	for i, d := range m.names {
		e[d] = 0
		if m.ready[i].Load() {
			e[d] = 1
		}
	}
	return e
}

// Probe asks each backend's /readyz every interval (each ask bounded by
// timeout) until ctx is done; a backend that does not answer 200 is not
// ready until it does.
//
// While it probes, a backend that refuses a proxied request's connection is
// not ready from that moment until the next probe finds it answering.
func (m *Mesh) Probe(ctx context.Context, interval, timeout time.Duration) {
	m.probing.Store(true)
	defer m.probing.Store(false)
	client := &http.Client{Timeout: timeout}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for i, b := range m.backends {
			m.setReady(i, probe(ctx, client, b.JoinPath("/readyz").String()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func probe(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Weights returns the current weights.
func (m *Mesh) Weights() split.Split {
	m.mu.Lock()
	defer m.mu.Unlock()
	return split.Home(m.names...).WithWeights(m.weights...)
}

// SetWeights changes the split from the next request on. It must name the
// mesh's destinations, in order.
func (m *Mesh) SetWeights(w split.Split) error {
	if err := w.Validate(); err != nil {
		return err
	}
	if !slices.Equal(w.Names(), m.names) {
		return fmt.Errorf("%w: %v: the mesh routes to %s, in that order", split.ErrInvalid, w, strings.Join(m.names, ", "))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.weights = w.Weights()
	clear(m.current)
	return nil
}

// pick chooses the destination with smooth weighted round-robin (as nginx
// does): deterministic, exact over every 100 requests, and interleaved rather
// than in runs.
func (m *Mesh) pick() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	best := 0
	for i := range m.current {
		m.current[i] += m.weights[i]
		if m.current[i] > m.current[best] {
			best = i
		}
	}
	m.current[best] -= 100
	return best
}

// maxCapacityRPS bounds a capacity: far above what the demo's frontend
// sends, and a limiter interval that stays above a nanosecond.
const maxCapacityRPS = 1e6

// SetPrimaryCapacity changes the rate primary serves (0: unlimited) from
// the next request on; the requests already queued keep their turns. As a
// fixed-size cluster would, primary starts requests in order of arrival,
// 1/rps apart, each waiting for its turn; one whose turn is more than the
// queue's wait away finds the queue full and is answered 503 at once.
func (m *Mesh) SetPrimaryCapacity(rps float64) error {
	return m.setCapacity(0, rps)
}

func (m *Mesh) setCapacity(i int, rps float64) error {
	if !(rps >= 0 && rps <= maxCapacityRPS) {
		return fmt.Errorf("a capacity must be 0 (unlimited) to %g requests a second, got %v", maxCapacityRPS, rps)
	}
	m.limits[i].set(rps)
	if i == 0 {
		m.capacity.Set(rps)
	}
	return nil
}

// PrimaryCapacity is the rate primary serves; 0: unlimited.
func (m *Mesh) PrimaryCapacity() float64 {
	m.limits[0].mu.Lock()
	defer m.limits[0].mu.Unlock()
	return m.limits[0].rps
}

// ServeHTTP proxies one request.
func (m *Mesh) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	i := m.pick()
	dest := m.names[i]
	w.Header().Set(meshapi.DestinationHeader, dest)
	code := m.serve(w, r, i, arrived)
	c := strconv.Itoa(code)
	m.requests.WithLabelValues(dest, c).Inc()
	m.duration.WithLabelValues(dest, c).Observe(float64(time.Since(arrived)) / float64(time.Millisecond))
}

// serve answers one request routed to destination i and returns the code.
func (m *Mesh) serve(w http.ResponseWriter, r *http.Request, i int, arrived time.Time) int {
	if !m.ready[i].Load() {
		// Envoy with no healthy endpoint for the destination.
		http.Error(w, "no healthy upstream", http.StatusServiceUnavailable)
		return http.StatusServiceUnavailable
	}
	wait, ok := m.limits[i].admit(arrived)
	if !ok {
		// A saturated cluster's full queue (Envoy's overflow).
		http.Error(w, m.names[i]+" is at capacity", http.StatusServiceUnavailable)
		return http.StatusServiceUnavailable
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return 499 // the client gave up while queued, as Envoy reports it
		}
	}
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	m.proxies[i].ServeHTTP(rec, r)
	return rec.code
}

// limiter is a destination's capacity: a queue in order of arrival where
// each request starts interval after the one before it.
type limiter struct {
	mu                sync.Mutex
	rps               float64       // 0: unlimited
	interval, maxWait time.Duration // interval: 1/rps
	next              time.Time     // when the next admitted request may start
}

func (l *limiter) set(rps float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rps, l.interval = rps, 0
	if rps > 0 {
		l.interval = time.Duration(float64(time.Second) / rps)
	}
}

// admit gives a request arriving at now its turn: how long it waits, or
// false when the queue ahead of it is full.
func (l *limiter) admit(now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rps == 0 {
		return 0, true
	}
	start := now
	if l.next.After(now) {
		start = l.next
	}
	wait := start.Sub(now)
	if wait > l.maxWait {
		return 0, false
	}
	l.next = start.Add(l.interval)
	return wait, true
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}
