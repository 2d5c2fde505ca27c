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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/meshapi"
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

// two is a mesh of primary and burst, both unlimited.
func two(t *testing.T, primary, burst *url.URL, reg prometheus.Registerer, log *slog.Logger) *Mesh {
	t.Helper()
	m, err := New([]Backend{{Name: Primary, URL: primary}, {Name: "burst", URL: burst}}, time.Second, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// limited is a mesh of primary and burst, primary serving rps with a queue
// of wait.
func limited(t *testing.T, primary, burst *url.URL, rps float64, wait time.Duration, reg prometheus.Registerer) *Mesh {
	t.Helper()
	m, err := New([]Backend{{Name: Primary, URL: primary, CapacityRPS: rps}, {Name: "burst", URL: burst}}, wait, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPickIsExactAndInterleaved(t *testing.T) {
	for _, w := range []split.Split{split.AllPrimary, split.AllBurst, split.WithBurst(30), split.WithBurst(50), split.WithBurst(99)} {
		m := two(t, &url.URL{}, &url.URL{}, prometheus.NewRegistry(), nil)
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
		if n[0] != w.Weight(0) || n[1] != w.Weight(1) {
			t.Errorf("weights %+v: %v of 100", w, n)
		}
		if w == (split.Two(50, 50)) && longest > 1 {
			t.Errorf("50/50 produced a run of %d: not interleaved", longest)
		}
	}
}

func TestProxiesAndCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := two(t, upstream(t, "primary", 200), upstream(t, "burst", 503), reg, nil)
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
	if err := m.SetWeights(split.Two(0, 100)); err != nil {
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
	m := two(t, &url.URL{}, &url.URL{}, prometheus.NewRegistry(), nil)
	e := echo.New()
	m.RegisterAdmin(e)
	tests := []struct {
		body string
		code int
		want split.Split
	}{
		{`{"primary":40,"burst":60}`, 200, split.Two(40, 60)},
		{`{"primary":50,"burst":60}`, 400, split.Two(40, 60)},
		{`{"primary":-10,"burst":110}`, 400, split.Two(40, 60)},
		{`{"primary":"all"}`, 400, split.Two(40, 60)},
		{`{"primary":100,"burst":0,"canary":0}`, 400, split.Two(40, 60)},
		// Strict: no weight filled in, no key matched by case, nothing after.
		{`{"primary":100}`, 400, split.Two(40, 60)},
		{`{"Primary":100,"burst":0}`, 400, split.Two(40, 60)},
		{`{"primary":100,"burst":0} {"primary":0,"burst":100}`, 400, split.Two(40, 60)},
		{`{"primary":100,"burst":0}`, 200, split.Two(100, 0)},
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

// TestCapacityChanges: primary's capacity changes while the mesh serves,
// through the admin API, from the next request on: at 1 req/s the second
// of two requests waits its turn; raised to unlimited, neither waits; a
// bad body or rate is refused and changes nothing.
func TestCapacityChanges(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := limited(t, upstream(t, "primary", 200), upstream(t, "burst", 200), 1, 5*time.Second, reg)
	e := echo.New()
	m.RegisterAdmin(e)
	put := func(body string) int {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, meshapi.CapacityPath, strings.NewReader(body)))
		return rec.Code
	}
	for _, body := range []string{`{"primaryRps":-5}`, `{"primaryRps":"fast"}`, `{"primaryRps":1e9}`, `{"rps":5}`, `{}`} {
		if code := put(body); code != http.StatusBadRequest || m.PrimaryCapacity() != 1 {
			t.Fatalf("PUT %s = %d, capacity %v; want 400 and 1 unchanged", body, code, m.PrimaryCapacity())
		}
	}
	front := httptest.NewServer(m)
	defer front.Close()
	// Two requests one after the other: how long the second waited.
	second := func() time.Duration {
		var took time.Duration
		for range 2 {
			start := time.Now()
			resp, err := http.Post(front.URL+"/", "application/json", strings.NewReader(`{"str":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			took = time.Since(start)
		}
		return took
	}
	if w := second(); w < 500*time.Millisecond {
		t.Fatalf("at 1 req/s the second request took %s, want about a second in the queue", w)
	}
	if code := put(`{"primaryRps":0}`); code != http.StatusOK || m.PrimaryCapacity() != 0 {
		t.Fatalf("PUT unlimited = %d, capacity %v", code, m.PrimaryCapacity())
	}
	if w := second(); w > 500*time.Millisecond {
		t.Fatalf("unlimited, the second request took %s", w)
	}
	if v := testutil.ToFloat64(m.capacity); v != 0 {
		t.Fatalf("localmesh_primary_capacity_rps = %v", v)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, meshapi.CapacityPath, nil))
	if strings.TrimSpace(rec.Body.String()) != `{"primaryRps":0}` {
		t.Fatalf("GET %s = %s", meshapi.CapacityPath, rec.Body)
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
	m := two(t, upstream(t, "primary", 200), bu, reg, nil)
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

	component.Eventually(t, 5*time.Second, "burst not ready", func() bool { return endpoints() == `{"burst":0,"primary":1}` })
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
	if rec.Code != http.StatusServiceUnavailable || calls.Load() != 0 {
		t.Fatalf("to a not-ready backend: %d (%d calls reached it)", rec.Code, calls.Load())
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("burst", "503")); got != 1 {
		t.Fatalf("localmesh_requests_total{burst,503} = %v", got)
	}

	burstReady.Store(true)
	component.Eventually(t, 5*time.Second, "burst ready", func() bool { return endpoints() == `{"burst":1,"primary":1}` })
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
	m := two(t, dead, dead, prometheus.NewRegistry(), slog.New(slog.NewJSONHandler(&logs, nil)))
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

// TestLimiterQueuesInOrder: requests start 1/rps apart in order of arrival;
// one whose turn is further than the wait bound is refused, and costs
// nothing of the capacity.
func TestLimiterQueuesInOrder(t *testing.T) {
	l := &limiter{maxWait: 100 * time.Millisecond}
	l.set(20) // a turn every 50 ms
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		at   time.Duration
		wait time.Duration
		ok   bool
	}{
		{0, 0, true},
		{0, 50 * time.Millisecond, true},
		{0, 100 * time.Millisecond, true},
		{0, 0, false}, // its turn would be 150 ms away
		{10 * time.Millisecond, 140 * time.Millisecond, false},
		{60 * time.Millisecond, 90 * time.Millisecond, true},
		{time.Second, 0, true}, // the queue drained
	}
	for i, tt := range tests {
		wait, ok := l.admit(t0.Add(tt.at))
		if ok != tt.ok || (ok && wait != tt.wait) {
			t.Fatalf("request %d at %s: wait %s, admitted %v; want %s, %v", i, tt.at, wait, ok, tt.wait, tt.ok)
		}
	}
}

// TestPrimaryCapacity: a burst of requests at a primary of 1 req/s with a
// 2 s queue: three are served, in turn, the rest answered 503 at once; the
// histogram records each with its code and its time queued.
func TestPrimaryCapacity(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := limited(t, upstream(t, "primary", 200), upstream(t, "burst", 200), 1, 2*time.Second, reg)
	for _, bad := range []float64{-1, 2e6} {
		if err := m.SetPrimaryCapacity(bad); err == nil || m.PrimaryCapacity() != 1 {
			t.Fatalf("a capacity of %v: %v, capacity now %v", bad, err, m.PrimaryCapacity())
		}
	}
	front := httptest.NewServer(m)
	defer front.Close()
	const n = 20
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := http.Post(front.URL+"/", "application/json", strings.NewReader(`{"str":"x"}`))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if d := resp.Header.Get(meshapi.DestinationHeader); d != "primary" {
				t.Errorf("a %d answer names destination %q, want primary", resp.StatusCode, d)
			}
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	// All 20 arrive within the first second (one turn), so exactly the
	// first three turns fit the 2 s queue.
	if count[200] != 3 || count[503] != n-3 {
		t.Fatalf("answers %v, want 3 served and %d refused", count, n-3)
	}
	ok, refused := histogram(t, reg, "primary", "200"), histogram(t, reg, "primary", "503")
	if ok.GetSampleCount() != 3 || refused.GetSampleCount() != n-3 {
		t.Fatalf("histogram counts %d and %d", ok.GetSampleCount(), refused.GetSampleCount())
	}
	// The three served waited about 0, 1 and 2 s: within 1000 ms only one
	// or two (the second's turn is at 1000 ms, plus the proxying). Their
	// sum is 3 s less how far apart they arrived (under a second, all in
	// the first turn): over 2 s, where unrecorded waits would sum to
	// milliseconds.
	var within1s uint64
	for _, b := range ok.GetBucket() {
		if b.GetUpperBound() == 1000 {
			within1s = b.GetCumulativeCount()
		}
	}
	if within1s < 1 || within1s > 2 || ok.GetSampleSum() < 2000 {
		t.Fatalf("served within 1000 ms: %d, sum %v ms; want the queue's waits recorded", within1s, ok.GetSampleSum())
	}
}

// histogram is the local mesh's duration histogram for one series.
func histogram(t *testing.T, reg *prometheus.Registry, dest, code string) *dto.Histogram {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "localmesh_request_duration_milliseconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["destination"] == dest && labels["code"] == code {
				if got := m.GetHistogram().GetBucket(); len(got) != len(meshapi.LatencyBuckets) {
					t.Fatalf("%d buckets, want Istio's %d", len(got), len(meshapi.LatencyBuckets))
				}
				return m.GetHistogram()
			}
		}
	}
	t.Fatalf("no duration series for %s %s", dest, code)
	return nil
}

// TestNewRefusesBadDestinations: the mesh starts only with 2 to split.Max
// destinations, the first primary, each named once, each with a URL and a
// capacity it can serve.
func TestNewRefusesBadDestinations(t *testing.T) {
	u := &url.URL{Scheme: "http", Host: "127.0.0.1:1"}
	many := []Backend{{Name: Primary, URL: u}}
	for i := range split.Max {
		many = append(many, Backend{Name: "burst-" + strconv.Itoa(i+1), URL: u})
	}
	for _, tt := range []struct {
		name     string
		backends []Backend
	}{
		{"one", []Backend{{Name: Primary, URL: u}}},
		{"primary not first", []Backend{{Name: "burst", URL: u}, {Name: Primary, URL: u}}},
		{"a name twice", []Backend{{Name: Primary, URL: u}, {Name: "burst", URL: u}, {Name: "burst", URL: u}}},
		{"no URL", []Backend{{Name: Primary, URL: u}, {Name: "burst"}}},
		{"a negative capacity", []Backend{{Name: Primary, URL: u}, {Name: "burst", URL: u, CapacityRPS: -1}}},
		{"more than split.Max", many},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if m, err := New(tt.backends, time.Second, prometheus.NewRegistry(), nil); err == nil {
				t.Fatalf("New accepted %+v: %v", tt.backends, m.Destinations())
			}
		})
	}
}

// TestThreeDestinations: a mesh of three routes to each by its weight,
// exactly over 100 requests; takes a split naming the three in order and
// refuses any other; reports each one's readiness; and a capacity on a
// destination after primary queues its requests as primary's does.
func TestThreeDestinations(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New([]Backend{
		{Name: Primary, URL: upstream(t, "primary", 200)},
		{Name: "burst", URL: upstream(t, "burst", 200), CapacityRPS: 1},
		{Name: "burst-2", URL: upstream(t, "burst-2", 200)},
	}, 5*time.Second, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	m.RegisterAdmin(e)
	call := func(method, path, body string) (int, string) {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	if code, body := call(http.MethodGet, meshapi.WeightsPath, ""); code != 200 || body != `{"primary":100,"burst":0,"burst-2":0}` {
		t.Fatalf("GET weights = %d %s", code, body)
	}
	for _, bad := range []string{`{"primary":50,"burst":50}`, `{"primary":50,"burst-2":30,"burst":20}`, `{"primary":50,"burst":30,"burst-3":20}`} {
		if code, _ := call(http.MethodPut, meshapi.WeightsPath, bad); code != http.StatusBadRequest || m.Weights() != split.Home(Primary, "burst", "burst-2") {
			t.Fatalf("PUT %s = %d, weights now %v; want 400 and unchanged", bad, code, m.Weights())
		}
	}
	if code, body := call(http.MethodPut, meshapi.WeightsPath, `{"primary":50,"burst":30,"burst-2":20}`); code != 200 || body != `{"primary":50,"burst":30,"burst-2":20}` {
		t.Fatalf("PUT 50/30/20 = %d %s", code, body)
	}
	if code, body := call(http.MethodGet, meshapi.EndpointsPath, ""); code != 200 || body != `{"burst":1,"burst-2":1,"primary":1}` {
		t.Fatalf("GET endpoints = %d %s", code, body)
	}
	n := map[string]int{}
	for range 100 {
		n[m.names[m.pick()]]++
	}
	if n[Primary] != 50 || n["burst"] != 30 || n["burst-2"] != 20 {
		t.Fatalf("50/30/20 picked %v of 100", n)
	}

	// All to burst, which serves 1 req/s: of two requests at once, one
	// waits its turn; every answer names its destination.
	if code, _ := call(http.MethodPut, meshapi.WeightsPath, `{"primary":0,"burst":100,"burst-2":0}`); code != 200 {
		t.Fatal("PUT all to burst refused")
	}
	front := httptest.NewServer(m)
	defer front.Close()
	waited := make(chan time.Duration, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			start := time.Now()
			resp, err := http.Post(front.URL+"/", "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get(meshapi.DestinationHeader) != "burst" || !strings.HasPrefix(string(b), "burst:") {
				t.Errorf("answer %d from %q: %s", resp.StatusCode, resp.Header.Get(meshapi.DestinationHeader), b)
			}
			waited <- time.Since(start)
		})
	}
	wg.Wait()
	close(waited)
	var longest time.Duration
	for d := range waited {
		longest = max(longest, d)
	}
	if longest < 900*time.Millisecond {
		t.Fatalf("two requests at once to burst serving 1 req/s: the later answered after %s, want its turn a second on", longest)
	}
	if _, body := call(http.MethodPut, meshapi.WeightsPath, `{"primary":0,"burst":0,"burst-2":100}`); body != `{"primary":0,"burst":0,"burst-2":100}` {
		t.Fatalf("PUT all to burst-2: %s", body)
	}
	resp, err := http.Post(front.URL+"/", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get(meshapi.DestinationHeader) != "burst-2" || !strings.HasPrefix(string(b), "burst-2:") {
		t.Fatalf("all to burst-2 answered by %q: %s", resp.Header.Get(meshapi.DestinationHeader), b)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("burst-2", "200")); got != 1 {
		t.Fatalf("localmesh_requests_total{burst-2,200} = %v", got)
	}
}

// TestRefusedConnectionEjects: while the mesh probes, a backend that
// refuses a request's connection is not ready from that request on, before
// any probe finds it gone; without probing, nothing would make it ready
// again, so it stays as it was.
func TestRefusedConnectionEjects(t *testing.T) {
	burst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	bu, _ := url.Parse(burst.URL)
	m := two(t, upstream(t, "primary", 200), bu, prometheus.NewRegistry(), nil)
	if err := m.SetWeights(split.AllBurst); err != nil {
		t.Fatal(err)
	}
	send := func() int {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
		return rec.Code
	}
	burst.Close() // refuses connections from now on
	if code := send(); code != http.StatusBadGateway || m.Endpoints()["burst"] != 1 {
		t.Fatalf("not probing: answered %d, burst's endpoints %d; want 502 and 1", code, m.Endpoints()["burst"])
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	alive := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go func() { _ = alive.Serve(ln) }()
	bu.Host = ln.Addr().String() // the proxy and the probe follow the URL
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Probe(ctx, time.Hour, time.Second); close(done) }()
	defer func() { cancel(); <-done }()
	component.Eventually(t, 5*time.Second, "the first probe", func() bool { return m.probing.Load() && m.Endpoints()["burst"] == 1 })
	alive.Close()
	if code := send(); code != http.StatusBadGateway {
		t.Fatalf("to a backend refusing connections: %d, want 502", code)
	}
	if n := m.Endpoints()["burst"]; n != 0 {
		t.Fatalf("burst's endpoints %d after a refused connection, want 0 before any probe", n)
	}
	if code := send(); code != http.StatusServiceUnavailable {
		t.Fatalf("to an ejected backend: %d, want 503 without trying it", code)
	}
}
