package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TestRequestsCarryTraceContext: with tracing on, every request to the worker
// carries a W3C traceparent, so the worker's spans join the frontend's trace.
func TestRequestsCarryTraceContext(t *testing.T) {
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(sdktrace.NewTracerProvider())
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	valid := regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$`)
	var seen, bad atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		if !valid.MatchString(r.Header.Get("traceparent")) {
			bad.Add(1)
		}
	}))
	defer ts.Close()

	g := newGen(t, ts.URL, 4, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Run(ctx) }()
	_ = g.SetRate(100)
	component.Eventually(t, 10*time.Second, "condition", func() bool { return seen.Load() >= 5 })
	cancel()
	<-done
	if bad.Load() != 0 {
		t.Fatalf("%d of %d requests lacked a valid traceparent", bad.Load(), seen.Load())
	}
}
