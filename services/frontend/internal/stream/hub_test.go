package stream

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cloudburst-demo/cloudburst/pkg/hashmsg"
)

func msg(prefix string, i int) string {
	return hashmsg.Format(prefix, sha256.Sum256([]byte(fmt.Sprint(i))))
}

type rateSink struct {
	mu  sync.Mutex
	rps int
}

func (r *rateSink) set(rps int) error {
	if rps < 0 || rps > 100 {
		return errors.New("rate out of range")
	}
	r.mu.Lock()
	r.rps = rps
	r.mu.Unlock()
	return nil
}

func (r *rateSink) get() any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return map[string]int{"targetRps": r.rps}
}

// newHub serves a hub without its ticker: tests call broadcast themselves.
func newHub(t *testing.T, cfg Config) (*Hub, *httptest.Server) {
	t.Helper()
	sink := &rateSink{}
	if cfg.SetRate == nil {
		cfg.SetRate = sink.set
		cfg.Status = sink.get
	}
	cfg.MaxRPS = 100
	h := NewHub(cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	e := echo.New()
	e.GET("/ws", h.ServeWS)
	ts := httptest.NewServer(e)
	t.Cleanup(func() { h.Close(); ts.Close() })
	return h, ts
}

func dial(t *testing.T, ts *httptest.Server) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c *websocket.Conn) Frame {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var f Frame
	if err := c.ReadJSON(&f); err != nil {
		t.Fatalf("reading frame: %v", err)
	}
	return f
}

func waitClients(t *testing.T, h *Hub, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.Clients() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d clients, want %d", h.Clients(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFrameBatchesAndBounds(t *testing.T) {
	h, ts := newHub(t, Config{MaxHashesPerFrame: 10})
	c := dial(t, ts)
	if f := read(t, c); f.Type != "hello" || f.MaxRPS != 100 || f.Status == nil {
		t.Fatalf("first frame %+v", f)
	}

	for i := range 95 {
		h.Add(msg("", i))
	}
	for i := range 30 {
		h.Add(msg("bursty-", i))
	}
	h.Add("not a hash message")
	h.broadcast(time.Now())

	f := read(t, c)
	if f.Type != "update" || f.Counts == nil || *f.Counts != (Counts{Primary: 95, Burst: 30}) {
		t.Fatalf("frame %+v counts %+v", f, f.Counts)
	}
	if len(f.Hashes) != 10 || f.Hashes[9] != msg("bursty-", 29) || f.Hashes[0] != msg("bursty-", 20) {
		t.Fatalf("hashes %q, want the newest 10 oldest first", f.Hashes)
	}
	if f.Received == nil || f.Status == nil || f.At == 0 {
		t.Fatalf("first update lacks status or its server time: %+v", f)
	}
	if got := testutil.ToFloat64(h.messages.WithLabelValues("malformed")); got != 1 {
		t.Fatalf("malformed count %v", got)
	}

	// Nothing new and no status due: no frame at all.
	h.broadcast(time.Now())
	h.Add(msg("", 1000))
	h.broadcast(time.Now())
	if f := read(t, c); len(f.Hashes) != 1 || f.Status != nil || f.Counts.Primary != 1 {
		t.Fatalf("frame %+v", f)
	}
}

func TestFansOutToEveryClient(t *testing.T) {
	h, ts := newHub(t, Config{})
	conns := []*websocket.Conn{dial(t, ts), dial(t, ts), dial(t, ts)}
	for _, c := range conns {
		read(t, c) // hello
	}
	waitClients(t, h, 3)
	h.Add(msg("bursty-", 1))
	h.broadcast(time.Now())
	for i, c := range conns {
		if f := read(t, c); len(f.Hashes) != 1 || f.Hashes[0] != msg("bursty-", 1) {
			t.Fatalf("client %d got %+v", i, f)
		}
	}
}

// TestSlowClientIsDropped: a client that stops reading is disconnected once
// its queue is full, while a reading client gets every frame.
func TestSlowClientIsDropped(t *testing.T) {
	h, ts := newHub(t, Config{ClientQueue: 4, MaxHashesPerFrame: 50})
	// Never read from, with a small fixed receive buffer: setting SO_RCVBUF
	// turns off autotuning, so the server's writes to it block soon.
	small := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			err = c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}}
	slow, _, err := small.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fast := dial(t, ts)
	read(t, fast)
	waitClients(t, h, 2)

	// Up to ~30 MB, far more than the slow client's buffers hold; the loop
	// stops at the drop.
	const frames = 10000
	got := make(chan int, frames)
	go func() {
		for {
			var f Frame
			if err := fast.ReadJSON(&f); err != nil {
				close(got)
				return
			}
			if f.Type == "update" {
				got <- len(f.Hashes)
			}
		}
	}()
	for i := range frames {
		for j := range 50 {
			h.Add(msg("", i*50+j))
		}
		h.broadcast(time.Now())
		// Pace on the fast client so only the slow one can fall behind.
		select {
		case n, ok := <-got:
			if !ok || n != 50 {
				t.Fatalf("fast client: frame %d had %d hashes (open %v)", i, n, ok)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("fast client stalled at frame %d", i)
		}
		if h.Clients() == 1 {
			break
		}
	}
	if h.Clients() != 1 || testutil.ToFloat64(h.dropped) != 1 {
		t.Fatalf("clients %d, dropped %v: the slow client was not dropped", h.Clients(), testutil.ToFloat64(h.dropped))
	}
	// The fast client is still served.
	h.Add(msg("", -1))
	h.broadcast(time.Now())
	if n := <-got; n != 1 {
		t.Fatalf("fast client after the drop: %d hashes", n)
	}
}

func TestReadLimit(t *testing.T) {
	h, ts := newHub(t, Config{})
	c := dial(t, ts)
	read(t, c)
	if err := c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 2*readLimit))); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("read after oversized message: %v, want close 1009", err)
	}
	waitClients(t, h, 0)
}

func TestCommands(t *testing.T) {
	h, ts := newHub(t, Config{})
	a, b := dial(t, ts), dial(t, ts)
	read(t, a)
	read(t, b)
	waitClients(t, h, 2)
	h.broadcast(time.Now()) // consume the initial status
	read(t, a)
	read(t, b)

	tests := []struct {
		cmd     string
		wantErr string
	}{
		{`{"type":"setRate","rps":500}`, "rate out of range"},
		{`{"type":"setRate","rps":2.5}`, "commands are JSON"},
		{`{"type":"setRate"}`, `needs "rps"`},
		{`{"type":"explode"}`, `unknown command "explode"`},
		{`not json`, "commands are JSON"},
	}
	for _, tt := range tests {
		if err := a.WriteMessage(websocket.TextMessage, []byte(tt.cmd)); err != nil {
			t.Fatal(err)
		}
		if f := read(t, a); f.Type != "error" || !strings.Contains(f.Message, tt.wantErr) {
			t.Fatalf("%s: got %+v, want error %q", tt.cmd, f, tt.wantErr)
		}
	}

	// A valid change reaches every page in the next frame.
	if err := a.WriteMessage(websocket.TextMessage, []byte(`{"type":"setRate","rps":25}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		due := h.statusDue
		h.mu.Unlock()
		if due {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("setRate did not mark the status due")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.broadcast(time.Now())
	for name, c := range map[string]*websocket.Conn{"sender": a, "other page": b} {
		f := read(t, c)
		st, _ := json.Marshal(f.Status)
		if string(st) != `{"targetRps":25}` {
			t.Fatalf("%s: status %s, want the new rate", name, st)
		}
	}
}

func TestOriginCheck(t *testing.T) {
	_, ts := newHub(t, Config{})
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
	_, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"http://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin dial: err %v, resp %v", err, resp)
	}
	c, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {ts.URL}})
	if err != nil {
		t.Fatalf("same-origin dial: %v", err)
	}
	c.Close()
}

func TestCloseDisconnectsAndRefuses(t *testing.T) {
	h, ts := newHub(t, Config{})
	c := dial(t, ts)
	read(t, c)
	waitClients(t, h, 1)
	h.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("after Close: %v, want close 1001", err)
	}
	late := dial(t, ts)
	_ = late.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := late.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("connection after Close: %v, want close 1001", err)
	}
}
