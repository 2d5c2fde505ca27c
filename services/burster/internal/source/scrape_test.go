package source

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
)

// exporter serves a page of metrics the test can change.
type exporter struct {
	mu   sync.Mutex
	page string
	ts   *httptest.Server
}

func newExporter(t *testing.T) *exporter {
	e := &exporter{}
	e.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		fmt.Fprint(w, e.page)
	}))
	t.Cleanup(e.ts.Close)
	return e
}

func (e *exporter) set(primary, burst float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.page = fmt.Sprintf(`# HELP mesh_requests_total Requests.
# TYPE mesh_requests_total counter
mesh_requests_total{destination="primary",code="200"} %g
mesh_requests_total{destination="burst",code="200"} %g
mesh_requests_total{destination="burst",code="503"} 5
# TYPE mesh_in_flight gauge
mesh_in_flight 3
`, primary, burst)
}

// clock is a manual time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newScrape(t *testing.T, url, metric, labels string) (*Scrape, *clock) {
	t.Helper()
	s, err := NewScrape(url, metric, labels, 5*time.Second, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s.now = c.now
	return s, c
}

func TestScrapeRate(t *testing.T) {
	e := newExporter(t)
	s, clk := newScrape(t, e.ts.URL, "mesh_requests_total", "code=200")
	ctx := context.Background()

	e.set(100, 0)
	if _, err := s.Rate(ctx); !errors.Is(err, ErrNoData) {
		t.Fatalf("first scrape: %v, want ErrNoData", err)
	}
	steps := []struct {
		advance        time.Duration
		primary, burst float64
		want           float64
	}{
		{time.Second, 110, 0, 10},      // 10 over 1s
		{time.Second, 120, 10, 15},     // 30 over 2s
		{3 * time.Second, 150, 40, 18}, // 90 over 5s
		{2 * time.Second, 150, 80, 20}, // window slides: from t=2s (130) to t=7s (230)
		{time.Second, 0, 0, 0},         // reset: starts over ...
	}
	for i, st := range steps {
		clk.t = clk.t.Add(st.advance)
		e.set(st.primary, st.burst)
		got, err := s.Rate(ctx)
		if i == len(steps)-1 {
			if !errors.Is(err, ErrNoData) {
				t.Fatalf("after a counter reset: %v, %v; want ErrNoData", got, err)
			}
			continue
		}
		if err != nil || got != st.want {
			t.Fatalf("step %d: Rate() = %v, %v; want %v", i, got, err, st.want)
		}
	}
	// ... and gives a rate again on the next scrape.
	clk.t = clk.t.Add(time.Second)
	e.set(7, 0)
	if got, err := s.Rate(ctx); err != nil || got != 7 {
		t.Fatalf("after reset: %v, %v; want 7", got, err)
	}
}

func TestScrapeErrorsAndNoData(t *testing.T) {
	e := newExporter(t)
	e.set(1, 1)
	tests := []struct {
		name, url, metric, labels string
		noData                    bool
		wantErr                   string
	}{
		{name: "absent metric", url: e.ts.URL, metric: "nope_total", noData: true},
		{name: "no matching series", url: e.ts.URL, metric: "mesh_requests_total", labels: "destination=moon", noData: true},
		{name: "gauge", url: e.ts.URL, metric: "mesh_in_flight", wantErr: "want a counter"},
		{name: "unreachable", url: "http://127.0.0.1:1/metrics", metric: "mesh_requests_total", wantErr: "scraping"},
		{name: "not found", url: e.ts.URL + "/missing", metric: "mesh_requests_total", wantErr: "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newScrape(t, tt.url, tt.metric, tt.labels)
			_, err := s.Rate(context.Background())
			if tt.noData {
				if !errors.Is(err, ErrNoData) {
					t.Fatalf("err = %v, want ErrNoData", err)
				}
				return
			}
			if err == nil || errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want a failure mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewScrapeValidates(t *testing.T) {
	for _, tc := range []struct {
		metric, labels string
		window         time.Duration
	}{
		{"", "", time.Second}, {"m", "novalue", time.Second}, {"m", "=v", time.Second}, {"m", "", 0},
	} {
		if _, err := NewScrape("http://x", tc.metric, tc.labels, tc.window, time.Second); err == nil {
			t.Errorf("NewScrape(%q, %q, %s) accepted", tc.metric, tc.labels, tc.window)
		}
	}
}

// TestScrapeDestinations: the same scrapes that give the rate give each
// destination's requests and failures (5xx) over the window.
func TestScrapeDestinations(t *testing.T) {
	e := newExporter(t)
	s, clk := newScrape(t, e.ts.URL, "mesh_requests_total", "")
	if _, err := s.Destinations(context.Background()); !errors.Is(err, ErrNoData) {
		t.Fatalf("without a destination label: %v, want ErrNoData", err)
	}
	if _, err := s.WithDestinations("destination", "destination"); err == nil {
		t.Fatal("the same label for destination and code was accepted")
	}
	if _, err := s.WithDestinations("destination", "code"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	page := func(p200, b200, b503 float64) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.page = fmt.Sprintf("# TYPE mesh_requests_total counter\n"+
			"mesh_requests_total{destination=\"primary\",code=\"200\"} %g\n"+
			"mesh_requests_total{destination=\"burst\",code=\"200\"} %g\n"+
			"mesh_requests_total{destination=\"burst\",code=\"503\"} %g\n"+
			"mesh_requests_total{destination=\"elsewhere\",code=\"500\"} 1000\n", p200, b200, b503)
	}
	page(100, 0, 0)
	if _, err := s.Rate(ctx); !errors.Is(err, ErrNoData) {
		t.Fatalf("first scrape: %v", err)
	}
	if _, err := s.Destinations(ctx); !errors.Is(err, ErrNoData) {
		t.Fatalf("destinations after one scrape: %v, want ErrNoData", err)
	}
	clk.t = clk.t.Add(2 * time.Second)
	page(110, 20, 40) // over 2s: primary 5/s, burst 10/s ok + 20/s failed
	if _, err := s.Rate(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Destinations(ctx)
	want := Destinations{Primary: Traffic{RPS: 5}, Burst: Traffic{RPS: 30, FailedRPS: 20}}
	if err != nil || got != want {
		t.Fatalf("Destinations() = %+v, %v; want %+v", got, err, want)
	}
	// A failed scrape: the window just measured is not the current traffic.
	e.mu.Lock()
	good := e.page
	e.page = "not the exposition format {"
	e.mu.Unlock()
	clk.t = clk.t.Add(time.Second)
	if _, err := s.Rate(ctx); err == nil {
		t.Fatal("a page that does not parse gave a rate")
	}
	if got, err := s.Destinations(ctx); err == nil {
		t.Fatalf("after a failed scrape Destinations() = %+v, the previous window as current", got)
	}
	e.mu.Lock()
	e.page = good
	e.mu.Unlock()
	if _, err := s.Rate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Destinations(ctx); err != nil {
		t.Fatalf("after a good scrape again: %v", err)
	}
	clk.t = clk.t.Add(time.Second)
	page(110, 0, 40) // a destination's counter went down: restarted, start over
	if _, err := s.Rate(ctx); !errors.Is(err, ErrNoData) {
		t.Fatalf("after a reset of one destination's counter: %v, want ErrNoData", err)
	}
}

// TestScrapeLatency: the scrape source's latency window over the local
// mesh's histogram: requests and good ones per destination over the SLO
// window (a 5xx is never good), no data until the samples span it, and
// ErrNoBucket when no bucket is the objective.
func TestScrapeLatency(t *testing.T) {
	e := newExporter(t)
	page := func(primaryFast, primarySlow, burst503 float64) {
		e.mu.Lock()
		defer e.mu.Unlock()
		total := primaryFast + primarySlow
		e.page = fmt.Sprintf(`# TYPE mesh_requests_total counter
mesh_requests_total{destination="primary",code="200"} %[4]g
mesh_requests_total{destination="burst",code="503"} %[3]g
# TYPE mesh_ms histogram
mesh_ms_bucket{destination="primary",code="200",le="100"} %[1]g
mesh_ms_bucket{destination="primary",code="200",le="250"} %[1]g
mesh_ms_bucket{destination="primary",code="200",le="+Inf"} %[4]g
mesh_ms_sum{destination="primary",code="200"} 0
mesh_ms_count{destination="primary",code="200"} %[4]g
mesh_ms_bucket{destination="burst",code="503",le="100"} %[3]g
mesh_ms_bucket{destination="burst",code="503",le="250"} %[3]g
mesh_ms_bucket{destination="burst",code="503",le="+Inf"} %[3]g
mesh_ms_sum{destination="burst",code="503"} 0
mesh_ms_count{destination="burst",code="503"} %[3]g
`, primaryFast, primarySlow, burst503, total)
	}
	build := func(objective float64) (*Scrape, *clock) {
		s, clk := newScrape(t, e.ts.URL, "mesh_requests_total", "")
		s, err := s.WithDestinations("destination", "code")
		if err != nil {
			t.Fatal(err)
		}
		if s, err = s.WithLatency("mesh_ms", 10*time.Second, 3*time.Second, objective); err != nil {
			t.Fatal(err)
		}
		return s, clk
	}
	ctx := context.Background()
	s, clk := build(250)
	page(0, 0, 0)
	if _, err := s.Rate(ctx); !errors.Is(err, ErrNoData) {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		clk.t = clk.t.Add(time.Second)
		page(float64(18*i), float64(2*i), float64(5*i)) // 20/s on primary, 10% slow; 5/s of 503s on burst
		if _, err := s.Rate(ctx); err != nil {
			t.Fatal(err)
		}
		w, err := s.Windows(ctx)
		if i < 9 {
			if !errors.Is(err, ErrNoData) {
				t.Fatalf("after %ds of a 10s window: %+v, %v; want no data", i, w, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("after %ds: %v", i, err)
		}
		if i == 10 && (w.Primary != policy.Window{Requests: 200, Good: 180, Served: 200, Seconds: 10} ||
			w.Burst != policy.Window{Requests: 50, Good: 0, Served: 0, Seconds: 10}) {
			t.Fatalf("window %+v, want primary 180 good of 200 served, burst none good or served of 50, over 10 s", w)
		}
		if i == 10 && (w.Recent == nil || !reflect.DeepEqual(*w.Recent, policy.SLIs{Primary: policy.Window{Requests: 60, Good: 54, Served: 60, Seconds: 3},
			Burst: policy.Window{Requests: 15, Served: 0, Seconds: 3}})) {
			t.Fatalf("recent window %+v, want the last 3 s", w.Recent)
		}
	}
	// 5 seconds on: the window slides.
	for i := 11; i <= 15; i++ {
		clk.t = clk.t.Add(time.Second)
		page(float64(18*i), float64(2*i), float64(5*i))
		if _, err := s.Rate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if w, err := s.Windows(ctx); err != nil || w.Primary.Requests != 200 {
		t.Fatalf("sliding window: %+v, %v", w, err)
	}
	// A scrape that failed leaves a gap: the window then spans its samples'
	// real time, so a count over it is never read as a higher rate.
	e.mu.Lock()
	e.page = "not the exposition format {"
	e.mu.Unlock()
	for range 3 {
		clk.t = clk.t.Add(time.Second)
		if _, err := s.Rate(ctx); err == nil {
			t.Fatal("a failed scrape measured a rate")
		}
	}
	clk.t = clk.t.Add(time.Second)
	page(float64(18*19), float64(2*19), float64(5*19))
	if _, err := s.Rate(ctx); err != nil {
		t.Fatal(err)
	}
	if w, err := s.Windows(ctx); err != nil || w.Recent == nil || w.Recent.Primary.Seconds != 4 || w.Recent.Primary.Requests != 80 {
		t.Fatalf("after a gap: %+v, %v; want the recent window over the 4 s its samples span", w.Recent, err)
	}
	// The budget since the counters started (primary: 270 good of 300, a
	// burn of 10; burst: none good) and the burn over the window.
	s.target = 0.99
	b, err := s.Budget(ctx)
	if err != nil || b.Period != SinceStart || b.Primary.Left == nil || math.Abs(*b.Primary.Left-(1-10)) > 1e-9 ||
		b.Burst.Left == nil || math.Abs(*b.Burst.Left-(1-100)) > 1e-9 ||
		len(b.Primary.Burns) != 1 || b.Primary.Burns[0].Window != "10s" || math.Abs(b.Primary.Burns[0].Rate-10) > 1e-9 {
		t.Fatalf("budget %+v, %v", b, err)
	}

	off, clk := build(200)
	for range 2 {
		page(1, 1, 1)
		if _, err := off.Rate(ctx); err != nil && !errors.Is(err, ErrNoData) {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(11 * time.Second)
	}
	if _, err := off.Windows(ctx); !errors.Is(err, ErrNoBucket) {
		t.Fatalf("objective 200 ms: %v, want ErrNoBucket", err)
	}
}

// TestScrapeLatencyThreeDestinations: told three destinations, the scrape
// source counts each one's window in spill order, the third in Further; a
// destination it was not told of is left out.
func TestScrapeLatencyThreeDestinations(t *testing.T) {
	e := newExporter(t)
	page := func(i float64) {
		e.mu.Lock()
		defer e.mu.Unlock()
		var b strings.Builder
		b.WriteString("# TYPE mesh_requests_total counter\n")
		for _, d := range []string{"primary", "burst", "burst-2", "burst-3"} {
			fmt.Fprintf(&b, "mesh_requests_total{destination=%q,code=\"200\"} %g\n", d, 10*i)
		}
		b.WriteString("# TYPE mesh_ms histogram\n")
		// primary: 10/s, all fast; burst: 10/s, half slow; burst-2: 10/s, a
		// fifth failed; burst-3: not ours.
		for _, s := range []struct {
			dest, code string
			fast, all  float64
		}{{"primary", "200", 10, 10}, {"burst", "200", 5, 10}, {"burst-2", "200", 8, 8}, {"burst-2", "503", 2, 2}, {"burst-3", "200", 10, 10}} {
			fmt.Fprintf(&b, "mesh_ms_bucket{destination=%q,code=%q,le=\"250\"} %g\n", s.dest, s.code, s.fast*i)
			fmt.Fprintf(&b, "mesh_ms_bucket{destination=%q,code=%q,le=\"+Inf\"} %g\n", s.dest, s.code, s.all*i)
			fmt.Fprintf(&b, "mesh_ms_sum{destination=%q,code=%q} 0\nmesh_ms_count{destination=%q,code=%q} %g\n", s.dest, s.code, s.dest, s.code, s.all*i)
		}
		e.page = b.String()
	}
	s, clk := newScrape(t, e.ts.URL, "mesh_requests_total", "")
	s.names = []string{Primary, Burst, "burst-2"}
	s, err := s.WithDestinations("destination", "code")
	if err != nil {
		t.Fatal(err)
	}
	if s, err = s.WithLatency("mesh_ms", 10*time.Second, 0, 250); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i <= 10; i++ {
		page(float64(i))
		if _, err := s.Rate(ctx); err != nil && i > 0 {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(time.Second)
	}
	w, err := s.Windows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := policy.SLIs{Primary: policy.Window{Requests: 100, Good: 100, Served: 100, Seconds: 10},
		Burst:   policy.Window{Requests: 100, Good: 50, Served: 100, Seconds: 10},
		Further: []policy.Window{{Requests: 100, Good: 80, Served: 80, Seconds: 10}}}
	if !reflect.DeepEqual(w, want) {
		t.Fatalf("windows %+v, want %+v", w, want)
	}
}

// TestNewSourcesOfThreeDestinations: beyond two destinations the latency is
// measured for each, and the traffic and error budget, which know primary
// and burst alone, are not; destinations out of order are refused.
func TestNewSourcesOfThreeDestinations(t *testing.T) {
	cfg := Config{Kind: KindScrape, Timeout: time.Second, ScrapeURL: "http://127.0.0.1:1/metrics", ScrapeMetric: "m", ScrapeWindow: time.Second,
		ScrapeDestinationLabel: "destination", ScrapeCodeLabel: "code", LatencyMetric: "h", LatencyWindow: 10 * time.Second, Objective: 250,
		Names: []string{Primary, Burst, "burst-2"}}
	out, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if out.Latency == nil || out.Destinations != nil || out.Budget != nil {
		t.Fatalf("sources %+v: want the latency alone beside the rate", out)
	}
	cfg.Names = []string{Burst, Primary, "burst-2"}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "want primary, burst") {
		t.Fatalf("destinations out of order: %v, want refused", err)
	}
}
