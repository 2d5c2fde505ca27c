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
