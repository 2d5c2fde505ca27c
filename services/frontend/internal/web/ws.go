package web

import (
	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
)

// serveWS upgrades the request to a websocket and hands it to the hub, with
// the commands as the handler of what the page sends. The upgrader's default
// origin check accepts only pages served from the same host, so another site
// cannot drive the load generator.
func (s *site) serveWS(c echo.Context) error {
	up := websocket.Upgrader{ReadBufferSize: maxCommandBytes, WriteBufferSize: 16 << 10}
	conn, err := up.Upgrade(c.Response(), c.Request(), nil)
	if err != nil {
		return nil // the upgrader has already answered the client
	}
	conn.SetReadLimit(maxCommandBytes)
	s.Hub.Serve(conn, c.RealIP(), s.command)
	return nil
}
