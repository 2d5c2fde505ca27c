package app

import (
	"net/http"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/config"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/controller"
)

// statusChanges is how many recent changes /api/status carries.
const statusChanges = 10

// registerAPI adds the status API the frontend's page reads.
func registerAPI(e *echo.Echo, cfg config.Config, ctrl *controller.Controller, leading *atomic.Bool) {
	e.GET(bursterapi.ChangesPath, func(c echo.Context) error { return c.JSON(http.StatusOK, ctrl.Changes()) })
	e.GET(bursterapi.StatusPath, func(c echo.Context) error {
		snap, changes := ctrl.Snapshot(), ctrl.Changes()
		return c.JSON(http.StatusOK, bursterapi.Status{
			Weights: snap.Weights, ObservedRPS: snap.ObservedRPS, Destinations: snap.Destinations, PrimaryCapacity: snap.Capacity, Burst: snap.Burst,
			SLO: snap.SLO, Security: snap.Security, Router: string(cfg.Router),
			RouterError: snap.RouterError, Leader: leading.Load(),
			Strategy: string(cfg.Strategy), HighRPS: cfg.HighRPS, LowRPS: cfg.LowRPS,
			Changes: changes[max(0, len(changes)-statusChanges):],
		})
	})
}
