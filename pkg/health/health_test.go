package health_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/cloudburst-demo/cloudburst/pkg/health"
)

func TestEndpoints(t *testing.T) {
	ok := health.Check{Name: "redis", Fn: func(context.Context) error { return nil }}
	down := health.Check{Name: "redis", Fn: func(context.Context) error { return errors.New("connection refused") }}
	hung := health.Check{Name: "redis", Fn: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}

	tests := []struct {
		name     string
		checks   []health.Check
		draining bool
		path     string
		want     int
		body     string
	}{
		{name: "alive", checks: []health.Check{down}, path: "/healthz", want: 200, body: `"ok"`},
		{name: "ready", checks: []health.Check{ok}, path: "/readyz", want: 200, body: `"ready"`},
		{name: "dependency down", checks: []health.Check{down}, path: "/readyz", want: 503, body: "connection refused"},
		{name: "dependency hangs", checks: []health.Check{hung}, path: "/readyz", want: 503, body: "deadline exceeded"},
		{name: "draining", checks: []health.Check{ok}, draining: true, path: "/readyz", want: 503, body: `"draining"`},
		{name: "alive while draining", checks: []health.Check{ok}, draining: true, path: "/healthz", want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := health.New(tt.checks...)
			if tt.draining {
				h.SetDraining()
			}
			e := echo.New()
			h.Register(e)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.want {
				t.Fatalf("GET %s = %d, want %d (%s)", tt.path, rec.Code, tt.want, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Fatalf("body %q does not contain %q", rec.Body, tt.body)
			}
		})
	}
}
