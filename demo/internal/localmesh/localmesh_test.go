package localmesh

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

func upstream(t *testing.T, name string, code int) *url.URL {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(code)
		_, _ = w.Write([]byte(name + ":" + r.Method + ":" + string(b)))
	}))
	t.Cleanup(ts.Close)
	u, _ := url.Parse(ts.URL)
	return u
}

func TestPickIsExactAndInterleaved(t *testing.T) {
	for _, w := range []split.Split{split.AllPrimary, split.AllBurst, split.WithBurst(30), split.WithBurst(50), split.WithBurst(99)} {
		m := New(&url.URL{}, &url.URL{}, prometheus.NewRegistry(), nil)
		if err := m.SetWeights(w); err != nil {
			t.Fatal(err)
		}
		var n [2]int
		run, longest, last := 0, 0, -1
		for range 100 {
			i := m.pick()
			n[i]++
			if i == last {
				run++
			} else {
				run = 1
			}
			last, longest = i, max(longest, run)
		}
		if n[0] != w.Primary || n[1] != w.Burst {
			t.Errorf("weights %+v: %v of 100", w, n)
		}
		if w == (split.Split{Primary: 50, Burst: 50}) && longest > 1 {
			t.Errorf("50/50 produced a run of %d: not interleaved", longest)
		}
	}
}

func TestProxiesAndCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(upstream(t, "primary", 200), upstream(t, "burst", 503), reg, nil)
	if n := testutil.CollectAndCount(m.requests, "localmesh_requests_total"); n != 2 {
		t.Fatalf("%d series before any request, want primary and burst at zero", n)
	}
	front := httptest.NewServer(m)
	defer front.Close()

	post := func() string {
		resp, err := http.Post(front.URL+"/", "application/json", strings.NewReader(`{"str":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := post(); got != `primary:POST:{"str":"x"}` {
		t.Fatalf("default route: %q", got)
	}
	if err := m.SetWeights(split.Split{Primary: 0, Burst: 100}); err != nil {
		t.Fatal(err)
	}
	if got := post(); !strings.HasPrefix(got, "burst:") {
		t.Fatalf("after 0/100: %q", got)
	}
	if v := testutil.ToFloat64(m.requests.WithLabelValues("primary", "200")); v != 1 {
		t.Fatalf("primary count %v", v)
	}
	if v := testutil.ToFloat64(m.requests.WithLabelValues("burst", "503")); v != 1 {
		t.Fatalf("burst 503 count %v", v)
	}
}

func TestAdmin(t *testing.T) {
	m := New(&url.URL{}, &url.URL{}, prometheus.NewRegistry(), nil)
	e := echo.New()
	m.RegisterAdmin(e)
	tests := []struct {
		body string
		code int
		want split.Split
	}{
		{`{"primary":40,"burst":60}`, 200, split.Split{Primary: 40, Burst: 60}},
		{`{"primary":50,"burst":60}`, 400, split.Split{Primary: 40, Burst: 60}},
		{`{"primary":-10,"burst":110}`, 400, split.Split{Primary: 40, Burst: 60}},
		{`{"primary":"all"}`, 400, split.Split{Primary: 40, Burst: 60}},
		{`{"primary":100,"burst":0,"canary":0}`, 400, split.Split{Primary: 40, Burst: 60}},
		// Strict: no weight filled in, no key matched by case, nothing after.
		{`{"primary":100}`, 400, split.Split{Primary: 40, Burst: 60}},
		{`{"Primary":100,"burst":0}`, 400, split.Split{Primary: 40, Burst: 60}},
		{`{"primary":100,"burst":0} {"primary":0,"burst":100}`, 400, split.Split{Primary: 40, Burst: 60}},
		{`{"primary":100,"burst":0}`, 200, split.Split{Primary: 100, Burst: 0}},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/weights", strings.NewReader(tt.body)))
		if rec.Code != tt.code || m.Weights() != tt.want {
			t.Errorf("PUT %s = %d, weights %+v; want %d, %+v", tt.body, rec.Code, m.Weights(), tt.code, tt.want)
		}
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/weights", nil))
	if strings.TrimSpace(rec.Body.String()) != `{"primary":100,"burst":0}` {
		t.Fatalf("GET /weights = %s", rec.Body)
	}
}

// TestProbedReadiness: a backend whose /readyz fails is not ready: the admin
// API reports it, and requests routed to it are answered 503 without trying
// it (as Envoy with no healthy endpoint), counted under its destination;
// once it answers again it is ready and served.
func TestProbedReadiness(t *testing.T) {
	var burstReady atomic.Bool
	calls := atomic.Int32{}
	burst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			if !burstReady.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		calls.Add(1)
		_, _ = w.Write([]byte("burst"))
	}))
	defer burst.Close()
	bu, _ := url.Parse(burst.URL)
	reg := prometheus.NewRegistry()
	m := New(upstream(t, "primary", 200), bu, reg, nil)
	if err := m.SetWeights(split.AllBurst); err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	m.RegisterAdmin(e)
	endpoints := func() string {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/endpoints", nil))
		return strings.TrimSpace(rec.Body.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Probe(ctx, 10*time.Millisecond, time.Second); close(done) }()
	defer func() { cancel(); <-done }()

	component.Eventually(t, 5*time.Second, "burst not ready", func() bool { return endpoints() == `{"primary":1,"burst":0}` })
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
	if rec.Code != http.StatusServiceUnavailable || calls.Load() != 0 {
		t.Fatalf("to a not-ready backend: %d (%d calls reached it)", rec.Code, calls.Load())
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("burst", "503")); got != 1 {
		t.Fatalf("localmesh_requests_total{burst,503} = %v", got)
	}

	burstReady.Store(true)
	component.Eventually(t, 5*time.Second, "burst ready", func() bool { return endpoints() == `{"primary":1,"burst":1}` })
	rec = httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
	if rec.Code != http.StatusOK || calls.Load() != 1 {
		t.Fatalf("to a ready backend: %d (%d calls)", rec.Code, calls.Load())
	}
	if got := testutil.ToFloat64(m.readyVec.WithLabelValues("burst")); got != 1 {
		t.Fatalf("localmesh_backend_ready{burst} = %v", got)
	}
}

// TestDeadBackendCostsALineASecond: 200 requests to a backend that refuses
// connections are each answered 502 and cost one structured log line, not
// one line each.
func TestDeadBackendCostsALineASecond(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead, _ := url.Parse("http://" + ln.Addr().String())
	ln.Close()
	var logs bytes.Buffer
	m := New(dead, dead, prometheus.NewRegistry(), slog.New(slog.NewJSONHandler(&logs, nil)))
	for range 200 {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
		if rec.Code != http.StatusBadGateway {
			t.Fatalf("answer %d, want 502", rec.Code)
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), `"msg":"proxying failed"`) {
		t.Fatalf("%d log lines:\n%s", n, logs.String())
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("primary", "502")); got != 200 {
		t.Fatalf("localmesh_requests_total{primary,502} = %v", got)
	}
}
