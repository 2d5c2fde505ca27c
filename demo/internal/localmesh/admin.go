package localmesh

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/meshapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// RegisterAdmin adds the admin API (package meshapi) to the admin server.
func (m *Mesh) RegisterAdmin(e *echo.Echo) {
	e.GET(meshapi.WeightsPath, func(c echo.Context) error { return c.JSON(http.StatusOK, m.Weights()) })
	e.PUT(meshapi.WeightsPath, func(c echo.Context) error {
		var w split.Split
		dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 1024))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&w); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, `body must be {"primary": <0-100>, "burst": <0-100>}`)
		}
		if err := m.SetWeights(w); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		return c.JSON(http.StatusOK, m.Weights())
	})
}
