// Package web serves the String Hashr page from files embedded in the binary
// (no CDN: it works offline), the frontend's HTTP API, and the page's
// websocket. It owns the page's commands: one decoder and one way to apply
// them, whether they come over HTTP or the websocket.
package web

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
	"github.com/cloudburst-demo/cloudburst/services/frontend/internal/stream"
)

//go:embed static
var static embed.FS

// Generator is the load generator the commands drive. The rate belongs to
// the whole deployment: a change from any page applies to all.
type Generator interface {
	SetRate(rps int) error
	Rate() int
}

// Config is what the routes serve.
type Config struct {
	Generator Generator
	Hub       *stream.Hub           // the pages' websockets
	Status    func() pageapi.Status // GET /api/status, the same status the pages show
}

// site holds the routes' dependencies.
type site struct{ Config }

// Register adds the page, its assets, the websocket and the API to e.
func Register(e *echo.Echo, cfg Config) {
	assets, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	s := &site{cfg}
	e.FileFS("/", "index.html", assets)
	e.StaticFS("/static", assets)
	e.GET("/ws", s.serveWS)
	e.GET("/api/status", func(c echo.Context) error { return c.JSON(http.StatusOK, s.Status()) })
	e.GET("/api/rate", func(c echo.Context) error {
		return c.JSON(http.StatusOK, pageapi.Rate{RPS: s.Generator.Rate()})
	})
	e.PUT("/api/rate", s.putRate)
}
