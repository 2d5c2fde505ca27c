// Package health serves the liveness and readiness endpoints every service
// exposes: /healthz says the process is alive, /readyz says its dependencies
// answer and it is not draining.
package health

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// CheckTimeout bounds every readiness check so that a hung dependency turns
// into a quick 503 instead of a probe timeout.
const CheckTimeout = 500 * time.Millisecond

// Check is one named dependency check, e.g. a Redis PING.
type Check struct {
	Name string
	Fn   func(context.Context) error
}

// Health holds a service's readiness state.
type Health struct {
	draining atomic.Bool
	checks   []Check
}

// New returns a Health that is ready while every check passes.
func New(checks ...Check) *Health {
	return &Health{checks: checks}
}

// SetDraining makes /readyz answer 503 from now on, so load balancers stop
// sending new requests before the server shuts down.
func (h *Health) SetDraining() { h.draining.Store(true) }

// Draining reports whether SetDraining was called.
func (h *Health) Draining() bool { return h.draining.Load() }

// Register adds GET /healthz and GET /readyz to e.
func (h *Health) Register(e *echo.Echo) {
	e.GET("/healthz", h.live)
	e.GET("/readyz", h.ready)
}

func (h *Health) live(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (h *Health) ready(c echo.Context) error {
	if h.Draining() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "draining"})
	}
	failed := map[string]string{}
	for _, chk := range h.checks {
		ctx, cancel := context.WithTimeout(c.Request().Context(), CheckTimeout)
		err := chk.Fn(ctx)
		cancel()
		if err != nil {
			failed[chk.Name] = err.Error()
		}
	}
	if len(failed) > 0 {
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "failed": failed})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
