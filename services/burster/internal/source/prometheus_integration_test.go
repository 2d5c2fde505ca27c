package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
)

// rateExporter serves a counter that grows at exactly rps per second.
func rateExporter(t *testing.T, rps float64) string {
	t.Helper()
	start := time.Now()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "# TYPE worker_requests_total counter\nworker_requests_total{route=\"/\"} %f\n",
			rps*time.Since(start).Seconds())
	}))
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "http://")
}

// TestPrometheusSourceAgainstRealPrometheus: no data before Prometheus has
// scraped enough, then the exporter's rate, then an error (never zero) once
// Prometheus is gone.
func TestPrometheusSourceAgainstRealPrometheus(t *testing.T) {
	target := rateExporter(t, 20)
	prom := promserver.Start(t, target)
	src, err := NewPrometheus(prom.URL, `sum(rate(worker_requests_total[5s]))`, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if v, err := src.Rate(ctx); !errors.Is(err, ErrNoData) {
		t.Fatalf("before any scrape: %v, %v; want ErrNoData", v, err)
	}

	// rate() ramps up while the window fills (the series starts inside it),
	// then holds the exporter's 20/s; allow for irregular scrape timing.
	component.EventuallyNil(t, 30*time.Second, "rate settling near 20/s", func() error {
		v, err := src.Rate(ctx)
		if err != nil && !errors.Is(err, ErrNoData) {
			t.Fatalf("while waiting for data: %v", err)
		}
		if err == nil && (v < 18 || v > 22) {
			err = fmt.Errorf("rate %v", v)
		}
		return err
	})

	prom.Stop()
	if v, err := src.Rate(ctx); err == nil || errors.Is(err, ErrNoData) {
		t.Fatalf("with prometheus stopped: %v, %v; want a failure that is not ErrNoData", v, err)
	}
}

// TestPrometheusLatencyAgainstRealPrometheus: Istio-shaped latency series
// per destination cluster, read by a real Prometheus: the good-events ratio
// on the objective's exact bucket (5xx never good, however fast), and
// ErrNoBucket for an objective that is no bucket boundary.
func TestPrometheusLatencyAgainstRealPrometheus(t *testing.T) {
	h := promserver.NewHistogram(t, "istio_request_duration_milliseconds", "istio_requests_total", IstioBuckets)
	series := func(cluster, code string) string {
		return fmt.Sprintf(`reporter="source",source_workload="frontend",destination_service_name="worker",destination_cluster=%q,response_code=%q`, cluster, code)
	}
	// Primary: 40 req/s, of which 4 too slow, 1 fast 503 and 1 with no
	// answer (code 0): 34/40 good, 38/40 served.
	h.Set(series("primary", "200"), promserver.Flow{RPS: 34, Millis: 12}, promserver.Flow{RPS: 4, Millis: 900})
	h.Set(series("primary", "503"), promserver.Flow{RPS: 1, Millis: 1})
	h.Set(series("primary", "0"), promserver.Flow{RPS: 1, Millis: 1})
	// Burst: 10 req/s at exactly the objective, all good (le is "≤").
	h.Set(series("burst", "200"), promserver.Flow{RPS: 10, Millis: 250})
	// Another cluster's traffic is not ours.
	h.Set(series("unknown", "503"), promserver.Flow{RPS: 50, Millis: 1})
	prom := promserver.Start(t, h.Host())
	query := `sum by (destination, le, code) (label_replace(label_replace(
increase(istio_request_duration_milliseconds_bucket{reporter="source",source_workload="frontend",destination_service_name="worker"}[$window]),
"destination", "$1", "destination_cluster", "(.*)"), "code", "$1", "response_code", "(.*)"))`
	src, err := NewPrometheusLatency(prom.URL, query, 5*time.Second, 3*time.Second, 250, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(src.Query(), "[5s]") {
		t.Fatalf("the window was not filled in: %s", src.Query())
	}
	ctx := context.Background()
	component.EventuallyNil(t, 30*time.Second, "primary's SLI near 85% and burst's 100%", func() error {
		w, err := src.Windows(ctx)
		if err != nil {
			if !errors.Is(err, ErrNoData) {
				t.Fatalf("while waiting for data: %v", err)
			}
			return err
		}
		p, b := w.Primary, w.Burst
		// increase() extrapolates over the window: about 40×5 and 10×5.
		if !(p.Requests > 150 && p.Requests < 250 && b.Requests > 35 && b.Requests < 65) {
			return fmt.Errorf("requests %v and %v, want about 200 and 50", p.Requests, b.Requests)
		}
		if sli := p.Good / p.Requests; !(sli > 0.83 && sli < 0.87) {
			return fmt.Errorf("primary's SLI %v, want 0.85", sli)
		}
		if sli := b.Good / b.Requests; !(sli > 0.99 && sli <= 1.0001) {
			return fmt.Errorf("burst's SLI %v, want 1", sli)
		}
		if served := p.Served / p.Requests; !(served > 0.93 && served < 0.97) {
			return fmt.Errorf("primary served %v of its requests, want 0.95 (a 503 and a code 0 are not served)", served)
		}
		if w.Recent == nil || !(w.Recent.Primary.Requests > 80 && w.Recent.Primary.Requests < 160) {
			return fmt.Errorf("recent window %+v, want about 120 of primary's requests over 3 s", w.Recent)
		}
		// Each window says its span, so a rate from it is a rate: the
		// recent window's requests over its 3 s, not over the SLO's 5.
		if p.Seconds != 5 || w.Recent.Primary.Seconds != 3 || w.Recent.Burst.Seconds != 3 {
			return fmt.Errorf("spans %v and %v, want 5 and 3", p.Seconds, w.Recent.Primary.Seconds)
		}
		return nil
	})
	off, err := NewPrometheusLatency(prom.URL, query, 5*time.Second, 0, 200, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := off.Windows(ctx); !errors.Is(err, ErrNoBucket) || Classify(err) != ErrNoBucket {
		t.Fatalf("objective 200 ms: %v, want ErrNoBucket", err)
	}
}

// TestPrometheusBudgetAndSecurity: through a real Prometheus, the burn
// rates deploy/prometheus' recording rules keep (served here as they would
// be stored) give each cluster's short burns and its budget left over the
// longest window; and each cluster's requests, as its workers' sidecars
// report them, give how they travel: the policy most of them used.
func TestPrometheusBudgetAndSecurity(t *testing.T) {
	rules := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `# TYPE cloudburst:worker_burn:rate5m gauge
cloudburst:worker_burn:rate5m{cluster="primary",destination_cluster="primary"} 3
cloudburst:worker_burn:rate5m{cluster="burst",destination_cluster="burst"} 0
cloudburst:worker_burn:rate5m{cluster="unknown",destination_cluster="unknown"} 100
# TYPE cloudburst:worker_burn:rate1h gauge
cloudburst:worker_burn:rate1h{cluster="primary",destination_cluster="primary"} 1.5
cloudburst:worker_burn:rate1h{cluster="burst",destination_cluster="burst"} 0.1
# TYPE cloudburst:worker_burn:rate3d gauge
cloudburst:worker_burn:rate3d{cluster="primary",destination_cluster="primary"} 0.25
cloudburst:worker_burn:rate3d{cluster="burst",destination_cluster="burst"} 0.05
`)
	}))
	defer rules.Close()
	h := promserver.NewHistogram(t, "istio_request_duration_milliseconds", "istio_requests_total", IstioBuckets)
	side := func(cluster, policy string) string {
		return fmt.Sprintf(`reporter="destination",source_workload="frontend",destination_workload="worker",destination_cluster=%q,connection_security_policy=%q,response_code="200"`, cluster, policy)
	}
	h.Set(side("primary", "mutual_tls"), promserver.Flow{RPS: 20, Millis: 5})
	h.Set(side("burst", "mutual_tls"), promserver.Flow{RPS: 10, Millis: 5})
	h.Set(side("burst", "none"), promserver.Flow{RPS: 1, Millis: 5}) // a probe, say
	prom := promserver.Start(t, strings.TrimPrefix(rules.URL, "http://"), h.Host())

	budget, err := NewPrometheusBudget(prom.URL,
		`label_replace({__name__=~"cloudburst:worker_burn:rate(5m|1h|3d)"}, "window", "$1", "__name__", "cloudburst:worker_burn:rate(.*)")`, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	security, err := NewPrometheusSecurity(prom.URL, `sum by (destination, security) (label_replace(label_replace(
rate(istio_requests_total{reporter="destination",source_workload="frontend",destination_workload="worker"}[5s]),
"destination", "$1", "destination_cluster", "(.*)"), "security", "$1", "connection_security_policy", "(.*)"))`, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	component.EventuallyNil(t, 30*time.Second, "the budget and the security read", func() error {
		b, err := budget.Budget(ctx)
		if err != nil {
			return err
		}
		p := b.Primary
		if b.Period != "3d" || p.Left == nil || *p.Left != 0.75 || len(p.Burns) != 2 || p.Burns[0] != (Burn{"5m", 3}) || p.Burns[1] != (Burn{"1h", 1.5}) ||
			b.Burst.Left == nil || *b.Burst.Left != 0.95 {
			return fmt.Errorf("budget %+v", b)
		}
		s, err := security.Security(ctx)
		if err != nil {
			return err
		}
		if s != (Security{Primary: "mutual_tls", Burst: "mutual_tls"}) {
			return fmt.Errorf("security %+v", s)
		}
		return nil
	})
}
