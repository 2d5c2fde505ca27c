package promserver

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Load serves one counter series, in Prometheus' text format on any path,
// that grows at a rate the test sets: the stand-in for a request counter
// (the worker's, or Istio's istio_requests_total) that Prometheus or the
// burster's scrape source reads.
type Load struct {
	// URL is the server's base URL.
	URL    string
	series string
	name   string

	mu    sync.Mutex
	rps   float64
	value float64
	at    time.Time
}

// NewLoad serves series (a metric name with its labels, for example
// `requests_total{destination="worker"}`) growing at rps until the test ends.
func NewLoad(t testing.TB, series string, rps float64) *Load {
	t.Helper()
	name, _, _ := strings.Cut(series, "{")
	l := &Load{series: series, name: name, rps: rps, at: time.Now()}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.advance()
		fmt.Fprintf(w, "# TYPE %s counter\n%s %f\n", l.name, l.series, l.value)
	}))
	t.Cleanup(ts.Close)
	l.URL = ts.URL
	return l
}

func (l *Load) advance() {
	now := time.Now()
	l.value += l.rps * now.Sub(l.at).Seconds()
	l.at = now
}

// Set changes the rate from now on.
func (l *Load) Set(rps float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	l.rps = rps
}

// Host is the server's host:port, a Prometheus scrape target.
func (l *Load) Host() string { return strings.TrimPrefix(l.URL, "http://") }

// Sample reads one sample, such as `burster_leader 1`, from a Prometheus
// text endpoint (a service's /metrics).
func Sample(url, name string) (float64, error) {
	return SampleWith(http.DefaultClient, url, name)
}

// SampleWith is Sample through client (one that reaches a pod's network).
func SampleWith(client *http.Client, url, name string) (float64, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("%s has no sample %s", url, name)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
