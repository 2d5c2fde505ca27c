package localmesh

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/meshapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/pkg/strictjson"
)

// RegisterAdmin adds the admin API (package meshapi) to the admin server.
func (m *Mesh) RegisterAdmin(e *echo.Echo) {
	e.GET(meshapi.WeightsPath, func(c echo.Context) error { return c.JSON(http.StatusOK, m.Weights()) })
	e.GET(meshapi.EndpointsPath, func(c echo.Context) error { return c.JSON(http.StatusOK, m.Endpoints()) })
	e.GET(meshapi.CapacityPath, func(c echo.Context) error {
		return c.JSON(http.StatusOK, meshapi.Capacity{PrimaryRPS: m.PrimaryCapacity()})
	})
	e.PUT(meshapi.CapacityPath, func(c echo.Context) error {
		var capacity meshapi.Capacity
		body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 1024))
		if err == nil {
			err = strictjson.Decode(body, &capacity, "primaryRps")
		}
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, `body must be {"primaryRps": <0 for unlimited, or requests a second>}: `+err.Error())
		}
		if err := m.SetPrimaryCapacity(capacity.PrimaryRPS); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		return c.JSON(http.StatusOK, meshapi.Capacity{PrimaryRPS: m.PrimaryCapacity()})
	})
	e.PUT(meshapi.WeightsPath, func(c echo.Context) error {
		var w split.Split
		body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 1024))
		if err == nil {
			err = json.Unmarshal(body, &w) // one object; names and whole weights checked by split
		}
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, `body must be the mesh's destinations in order with their weights, {"primary": <0-100>, "burst": <0-100>, ...}: `+err.Error())
		}
		if err := m.SetWeights(w); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		return c.JSON(http.StatusOK, m.Weights())
	})
}
