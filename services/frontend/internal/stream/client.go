package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
)

// Websocket deadlines, as in podinfo and gorilla's chat example. Pages send
// only small commands, so the read limit is small; the ping period is shorter
// than the pong wait so a healthy client always answers in time.
const (
	readLimit  = 1024 // bytes per message from a page
	writeWait  = 5 * time.Second
	pongWait   = 60 * time.Second
	pingPeriod = pongWait * 9 / 10
)

// Command is what a page sends: {"type": "setRate", "rps": 25}.
type Command struct {
	Type string `json:"type"`
	RPS  *int   `json:"rps"`
}

// client is one websocket connection. Frames reach it only through its
// bounded queue; its own goroutine does the writing.
type client struct {
	conn   *websocket.Conn
	remote string
	send   chan []byte
	done   chan struct{}
	once   sync.Once
}

// queue hands b to the client's writer, reporting false when the client is
// too far behind to take it.
func (c *client) queue(b []byte) bool {
	select {
	case c.send <- b:
		return true
	default:
		return false
	}
}

// close ends both pumps; it is safe to call more than once.
func (c *client) close() {
	c.once.Do(func() { close(c.done) })
}

// ServeWS upgrades the request to a websocket and serves the page until it
// goes away. The upgrader's default origin check accepts only pages served
// from the same host, so another site cannot drive the load generator.
func (h *Hub) ServeWS(c echo.Context) error {
	up := websocket.Upgrader{ReadBufferSize: readLimit, WriteBufferSize: 16 << 10}
	conn, err := up.Upgrade(c.Response(), c.Request(), nil)
	if err != nil {
		// The upgrader has already answered the client.
		return nil
	}
	cl := &client{
		conn:   conn,
		remote: c.RealIP(),
		send:   make(chan []byte, h.cfg.ClientQueue),
		done:   make(chan struct{}),
	}
	if !h.register(cl) {
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(writeWait))
		return conn.Close()
	}
	cl.queue(h.hello())

	go h.writePump(cl)
	h.readPump(cl)
	return nil
}

// readPump reads commands until the connection fails or the client is closed.
func (h *Hub) readPump(c *client) {
	defer h.unregister(c)
	c.conn.SetReadLimit(readLimit)
	_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) && !errors.Is(err, net.ErrClosed) {
				h.log.Debug("websocket read ended", "remote", c.remote, "err", err)
			}
			return
		}
		if err := h.command(data); err != nil {
			b, _ := json.Marshal(Frame{Type: "error", Message: err.Error()})
			c.queue(b)
		}
	}
}

// command applies one command from a page.
func (h *Hub) command(data []byte) error {
	var cmd Command
	if err := json.Unmarshal(data, &cmd); err != nil {
		return fmt.Errorf(`commands are JSON such as {"type":"setRate","rps":25}`)
	}
	switch cmd.Type {
	case "setRate":
		if cmd.RPS == nil {
			return fmt.Errorf(`setRate needs "rps", a whole number of requests per second`)
		}
		return h.SetRate(*cmd.RPS)
	default:
		return fmt.Errorf("unknown command %q", cmd.Type)
	}
}

// writePump writes queued frames and pings until the client is closed or a
// write fails; either way the connection is closed here, which also ends
// readPump.
func (h *Hub) writePump(c *client) {
	ping := time.NewTicker(pingPeriod)
	defer func() {
		ping.Stop()
		h.unregister(c)
		_ = c.conn.Close()
	}()
	for {
		select {
		case b := <-c.send:
			_ = c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
				return
			}
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
		case <-c.done:
			_ = c.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second))
			return
		}
	}
}
