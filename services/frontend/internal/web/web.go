// Package web serves the String Hashr page from files embedded in the binary
// (no CDN: it works offline) and the frontend's small HTTP API.
package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed static
var static embed.FS

// Controller is what the routes drive: the rate, shared by every page, and
// the figures shown on them.
type Controller interface {
	SetRate(rps int) error
	Rate() int
	Status() any
}

// RateBody is the body of GET and PUT /api/rate.
type RateBody struct {
	RPS *int `json:"rps"`
}

// Register adds the page, its assets, the websocket and the API to e.
func Register(e *echo.Echo, ctl Controller, ws echo.HandlerFunc) {
	assets, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	e.FileFS("/", "index.html", assets)
	e.StaticFS("/static", assets)
	e.GET("/ws", ws)
	e.GET("/api/status", func(c echo.Context) error {
		return c.JSON(http.StatusOK, ctl.Status())
	})
	e.GET("/api/rate", func(c echo.Context) error {
		rps := ctl.Rate()
		return c.JSON(http.StatusOK, RateBody{RPS: &rps})
	})
	e.PUT("/api/rate", func(c echo.Context) error {
		var body RateBody
		dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 1024))
		if err := dec.Decode(&body); err != nil || body.RPS == nil {
			return echo.NewHTTPError(http.StatusBadRequest, `body must be {"rps": <whole number>}`)
		}
		if err := ctl.SetRate(*body.RPS); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		return c.JSON(http.StatusOK, body)
	})
}
