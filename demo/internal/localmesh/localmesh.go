// Package localmesh is the local demo's stand-in for the Istio sidecar: a
// reverse proxy that sends each request to the primary or the burst worker
// according to weights, counts requests per destination in Prometheus format,
// and has an admin API to read and set the weights. Once probing, it follows
// each backend's readiness (its /readyz) as a cluster's EndpointSlices would,
// answers 503 for a destination that is not ready without trying it, as
// Envoy does with no healthy endpoint, and reports the readiness on the admin
// API. Given a capacity (LimitPrimary), it serves primary no faster than a
// fixed-size cluster would, queueing the rest in order up to a bound and
// answering 503 beyond it; the capacity can be changed while it serves
// (SetPrimaryCapacity, PUT CapacityPath), as a cluster that lost or gained
// nodes. It records each request's duration, queueing
// included, per destination in a histogram with Istio's buckets, which the
// burster's SLO strategy reads as it reads Istio's. In a cluster none of this
// exists: the frontend's Envoy sidecar applies the VirtualService's weights.
package localmesh

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/meshapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/pkg/telemetry"
)

// Destinations, in the order of the split's fields.
const (
	Primary = "primary"
	Burst   = "burst"
)

// destinations names them by index, as the mesh's arrays hold them.
var destinations = [2]string{Primary, Burst}

// maxIdlePerUpstream keeps enough warm connections for the frontend's
// highest rates without redialling.
const maxIdlePerUpstream = 256

// Mesh routes requests between two upstreams.
type Mesh struct {
	proxies  [2]*httputil.ReverseProxy
	backends [2]*url.URL
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	limit    limiter // primary's capacity
	capacity prometheus.Gauge
	ready    [2]atomic.Bool // true until a probe says otherwise
	readyVec *prometheus.GaugeVec

	mu      sync.Mutex
	weights [2]int
	current [2]int // smooth weighted round-robin state
}

// New returns a Mesh sending everything to primary until told otherwise.
// A backend that cannot be reached is answered 502 and logged to log, at
// most once a second with the count held back (nil: not logged).
func New(primary, burst *url.URL, reg prometheus.Registerer, log *slog.Logger) *Mesh {
	transport := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        2 * maxIdlePerUpstream,
		MaxIdleConnsPerHost: maxIdlePerUpstream,
		IdleConnTimeout:     90 * time.Second,
	}
	m := &Mesh{
		weights: [2]int{100, 0},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "localmesh_requests_total",
			Help: "Requests proxied, by destination (primary, burst) and response code.",
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
		backends: [2]*url.URL{primary, burst},
	}
	limit := &telemetry.Limit{Every: time.Second}
	for i, u := range []*url.URL{primary, burst} {
		target := u
		dest := destinations[i]
		m.proxies[i] = &httputil.ReverseProxy{
			Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.Out.Host = pr.In.Host },
			Transport: transport,
			// Instead of a line per failed request on the standard logger.
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				if ok, held := limit.Allow(); ok && log != nil {
					log.Warn("proxying failed", "destination", dest, "err", err, "heldBack", held)
				}
				w.WriteHeader(http.StatusBadGateway)
			},
		}
	}
	reg.MustRegister(m.requests, m.duration, m.readyVec, m.capacity)
	// The series exist at zero from the start: a reader of the rate (the
	// burster) sees an idle mesh as 0 req/s, not as no data.
	for i, d := range destinations {
		m.requests.WithLabelValues(d, strconv.Itoa(http.StatusOK))
		m.setReady(i, true)
	}
	return m
}

// setReady records backend i's readiness.
func (m *Mesh) setReady(i int, ready bool) {
	m.ready[i].Store(ready)
	v := 0.0
	if ready {
		v = 1
	}
	m.readyVec.WithLabelValues(destinations[i]).Set(v)
}

// Endpoints is how many ready endpoints each destination has: its one
// backend, or none.
func (m *Mesh) Endpoints() meshapi.Endpoints {
	n := func(i int) int {
		if m.ready[i].Load() {
			return 1
		}
		return 0
	}
	return meshapi.Endpoints{Primary: n(0), Burst: n(1)}
}

// Probe asks each backend's /readyz every interval (each ask bounded by
// timeout) until ctx is done; a backend that does not answer 200 is not
// ready until it does.
func (m *Mesh) Probe(ctx context.Context, interval, timeout time.Duration) {
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
	return split.Two(m.weights[0], m.weights[1])
}

// SetWeights changes the split from the next request on.
func (m *Mesh) SetWeights(w split.Split) error {
	if err := w.Validate(); err != nil {
		return err
	}
	if !w.SameDestinations(split.AllPrimary) {
		return fmt.Errorf("%w: %v: the mesh routes to %s and %s", split.ErrInvalid, w, Primary, Burst)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.weights = [2]int{w.Weight(0), w.Weight(1)}
	m.current = [2]int{}
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
	m.current[best] -= m.weights[0] + m.weights[1]
	return best
}

// maxCapacityRPS bounds a capacity set through the admin API: far above
// what the demo's frontend sends, and a limiter interval that stays above a
// nanosecond.
const maxCapacityRPS = 1e6

// LimitPrimary makes primary serve at most rps requests a second (0:
// unlimited), as a fixed-size cluster would: requests start in order of
// arrival, 1/rps apart, each waiting for its turn; one whose turn is more
// than maxWait away finds the queue full and is answered 503 at once. Call
// it before serving; SetPrimaryCapacity changes the rate while it serves.
func (m *Mesh) LimitPrimary(rps float64, maxWait time.Duration) error {
	if maxWait < 0 {
		return fmt.Errorf("primary's queue's wait must not be negative, got %s", maxWait)
	}
	m.limit.mu.Lock()
	m.limit.maxWait = maxWait
	m.limit.mu.Unlock()
	return m.SetPrimaryCapacity(rps)
}

// SetPrimaryCapacity changes the rate primary serves (0: unlimited) from
// the next request on; the requests already queued keep their turns.
func (m *Mesh) SetPrimaryCapacity(rps float64) error {
	if !(rps >= 0 && rps <= maxCapacityRPS) {
		return fmt.Errorf("primary's capacity must be 0 (unlimited) to %g requests a second, got %v", maxCapacityRPS, rps)
	}
	m.limit.set(rps)
	m.capacity.Set(rps)
	return nil
}

// PrimaryCapacity is the rate primary serves; 0: unlimited.
func (m *Mesh) PrimaryCapacity() float64 {
	m.limit.mu.Lock()
	defer m.limit.mu.Unlock()
	return m.limit.rps
}

// ServeHTTP proxies one request.
func (m *Mesh) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	i := m.pick()
	dest := destinations[i]
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
	if i == 0 {
		wait, ok := m.limit.admit(arrived)
		if !ok {
			// A saturated cluster's full queue (Envoy's overflow).
			http.Error(w, "primary is at capacity", http.StatusServiceUnavailable)
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
	}
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	m.proxies[i].ServeHTTP(rec, r)
	return rec.code
}

// limiter is primary's capacity: a queue in order of arrival where each
// request starts interval after the one before it.
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
