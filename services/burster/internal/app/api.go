package app

import (
	"net/http"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/controller"
)

// statusChanges is how many recent changes /api/status carries.
const statusChanges = 10

// loop is what the status API reads: one policy's control loop.
type loop interface {
	Snapshot() controller.Snapshot
	Changes() []bursterapi.Change
}

// settings are the policy's settings the status carries.
type settings struct {
	router, strategy string
	high, low        float64
}

// registerAPI adds the status API the frontend's page reads.
func registerAPI(e *echo.Echo, s settings, l loop, leading *atomic.Bool) {
	e.GET(bursterapi.ChangesPath, func(c echo.Context) error { return c.JSON(http.StatusOK, l.Changes()) })
	e.GET(bursterapi.StatusPath, func(c echo.Context) error {
		snap, changes := l.Snapshot(), l.Changes()
		return c.JSON(http.StatusOK, bursterapi.Status{
			Weights: snap.Weights, ObservedRPS: snap.ObservedRPS, Destinations: snap.Destinations, PrimaryCapacity: snap.Capacity, Burst: snap.Burst,
			SLO: snap.SLO, Security: snap.Security, Router: s.router,
			RouterError: snap.RouterError, Leader: leading.Load(),
			Strategy: s.strategy, HighRPS: s.high, LowRPS: s.low,
			Changes: changes[max(0, len(changes)-statusChanges):],
		})
	})
}
