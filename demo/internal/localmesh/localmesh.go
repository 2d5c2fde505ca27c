// Package localmesh is the local demo's stand-in for the Istio sidecar: a
// reverse proxy that sends each request to the primary or the burst worker
// according to weights, counts requests per destination in Prometheus format,
// and has an admin API to read and set the weights. In a cluster none of this
// exists: the frontend's Envoy sidecar applies the VirtualService's weights.
package localmesh

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// Destinations, in the order of the split's fields.
const (
	Primary = "primary"
	Burst   = "burst"
)

// maxIdlePerUpstream keeps enough warm connections for the frontend's
// highest rates without redialling.
const maxIdlePerUpstream = 256

// Mesh routes requests between two upstreams.
type Mesh struct {
	proxies  [2]*httputil.ReverseProxy
	requests *prometheus.CounterVec

	mu      sync.Mutex
	weights [2]int
	current [2]int // smooth weighted round-robin state
}

// New returns a Mesh sending everything to primary until told otherwise.
func New(primary, burst *url.URL, reg prometheus.Registerer) *Mesh {
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
	}
	for i, u := range []*url.URL{primary, burst} {
		target := u
		m.proxies[i] = &httputil.ReverseProxy{
			Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.Out.Host = pr.In.Host },
			Transport: transport,
		}
	}
	reg.MustRegister(m.requests)
	// The series exist at zero from the start: a reader of the rate (the
	// burster) sees an idle mesh as 0 req/s, not as no data.
	for _, d := range []string{Primary, Burst} {
		m.requests.WithLabelValues(d, strconv.Itoa(http.StatusOK))
	}
	return m
}

// Weights returns the current weights.
func (m *Mesh) Weights() split.Split {
	m.mu.Lock()
	defer m.mu.Unlock()
	return split.Split{Primary: m.weights[0], Burst: m.weights[1]}
}

// SetWeights changes the split from the next request on.
func (m *Mesh) SetWeights(w split.Split) error {
	if err := w.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.weights = [2]int{w.Primary, w.Burst}
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

// ServeHTTP proxies one request.
func (m *Mesh) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := m.pick()
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	m.proxies[i].ServeHTTP(rec, r)
	m.requests.WithLabelValues([...]string{Primary, Burst}[i], strconv.Itoa(rec.code)).Inc()
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}
