package stream

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
)

// Websocket deadlines, as in podinfo and gorilla's chat example. The ping
// period is shorter than the pong wait so a healthy client always answers in
// time. The read limit is the caller's: it knows what pages may send.
const (
	writeWait  = 5 * time.Second
	pongWait   = 60 * time.Second
	pingPeriod = pongWait * 9 / 10
)

// Handler applies one message a page sent. An error is sent back to that
// page as an error frame; the connection stays open.
type Handler func(msg []byte) error

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

// Serve registers an upgraded websocket connection as a client, sends it the
// hello frame, and serves it until it goes away: frames go out through its
// bounded queue, and every message it sends is passed to handle.
func (h *Hub) Serve(conn *websocket.Conn, remote string, handle Handler) {
	cl := &client{
		conn:   conn,
		remote: remote,
		send:   make(chan []byte, h.cfg.ClientQueue),
		done:   make(chan struct{}),
	}
	if err := h.register(cl); err != nil {
		code := websocket.CloseGoingAway
		if errors.Is(err, errFull) {
			code = websocket.CloseTryAgainLater
		}
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, err.Error()), time.Now().Add(writeWait))
		_ = conn.Close()
		return
	}
	if hello := h.hello(); hello != nil {
		cl.queue(hello)
	}
	go h.writePump(cl)
	h.readPump(cl, handle)
}

// readPump reads messages until the connection fails or the client is closed.
func (h *Hub) readPump(c *client, handle Handler) {
	defer h.unregister(c)
	_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	limit := rate.NewLimiter(rate.Limit(h.cfg.CommandsPerSecond), h.cfg.CommandsPerSecond)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) && !errors.Is(err, net.ErrClosed) {
				h.log.Debug("websocket read ended", "remote", c.remote, "err", err)
			}
			return
		}
		if !limit.Allow() {
			h.dropped.Inc()
			msg := fmt.Sprintf("more than %d commands a second", h.cfg.CommandsPerSecond)
			_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, msg), time.Now().Add(writeWait))
			return
		}
		if err := handle(data); err != nil {
			if b := h.encode(pageapi.Frame{Type: pageapi.Error, Message: err.Error()}); b != nil {
				c.queue(b)
			}
		}
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
