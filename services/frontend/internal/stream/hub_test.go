package stream

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// msg is the i-th hash from the cluster whose workers publish with prefix
// (by the default table).
func msg(prefix string, i int) pageapi.Hash {
	return pageapi.Hash{Text: hashmsg.Format(prefix, sha256.Sum256([]byte(fmt.Sprint(i)))), Cluster: hashmsg.DefaultClusters.Of(prefix)}
}

// newHub serves a hub without its ticker: tests call broadcast themselves.
// Messages from pages go to handle (nil: accepted and ignored).
func newHub(t *testing.T, cfg Config, handle Handler) (*Hub, *httptest.Server) {
	t.Helper()
	if handle == nil {
		handle = func([]byte) error { return nil }
	}
	if cfg.Status == nil {
		cfg.Status = func() pageapi.Status { return pageapi.Status{Generator: pageapi.Generator{TargetRPS: 7}} }
	}
	cfg.MaxRPS = 100
	h := NewHub(cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	e := echo.New()
	e.GET("/ws", func(c echo.Context) error {
		conn, err := (&websocket.Upgrader{}).Upgrade(c.Response(), c.Request(), nil)
		if err != nil {
			return nil
		}
		h.Serve(conn, c.RealIP(), handle)
		return nil
	})
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

func read(t *testing.T, c *websocket.Conn) pageapi.Frame {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var f pageapi.Frame
	if err := c.ReadJSON(&f); err != nil {
		t.Fatalf("reading frame: %v", err)
	}
	return f
}

func waitClients(t *testing.T, h *Hub, n int) {
	t.Helper()
	component.Eventually(t, 5*time.Second, fmt.Sprintf("%d clients", n), func() bool { return h.Clients() == n })
}

func TestFrameBatchesAndBounds(t *testing.T) {
	h, ts := newHub(t, Config{MaxHashesPerFrame: 10}, nil)
	c := dial(t, ts)
	if f := read(t, c); f.Type != pageapi.Hello || f.MaxRPS != 100 || f.Status == nil || f.Status.TargetRPS != 7 {
		t.Fatalf("first frame %+v", f)
	}

	for i := range 95 {
		h.Add(msg("", i))
	}
	for i := range 30 {
		h.Add(msg("bursty-", i))
	}
	h.broadcast(time.Now())

	f := read(t, c)
	if f.Type != pageapi.Update || !maps.Equal(f.Counts, pageapi.Counts{hashmsg.Primary: 95, hashmsg.Burst: 30}) {
		t.Fatalf("frame %+v counts %+v", f, f.Counts)
	}
	if len(f.Hashes) != 10 || f.Hashes[9] != (msg("bursty-", 29)) || f.Hashes[0] != (msg("bursty-", 20)) ||
		f.Hashes[0].Cluster != hashmsg.Burst {
		t.Fatalf("hashes %+v, want the newest 10 oldest first, each with its cluster", f.Hashes)
	}
	if f.Received == nil || f.Status == nil || f.At == 0 {
		t.Fatalf("first update lacks status or its server time: %+v", f)
	}

	// Nothing new and no status due: no frame at all.
	h.broadcast(time.Now())
	h.Add(msg("", 1000))
	h.broadcast(time.Now())
	if f := read(t, c); len(f.Hashes) != 1 || f.Hashes[0].Cluster != hashmsg.Primary || f.Status != nil || !maps.Equal(f.Counts, pageapi.Counts{hashmsg.Primary: 1}) {
		t.Fatalf("frame %+v", f)
	}
}

// TestReceivedNamesEveryCluster: the rates received name every cluster the
// hub is told of, 0 included, and count a third cluster's hashes apart.
func TestReceivedNamesEveryCluster(t *testing.T) {
	h, ts := newHub(t, Config{Clusters: []hashmsg.Cluster{hashmsg.Primary, hashmsg.Burst, "burst-2"}}, nil)
	c := dial(t, ts)
	read(t, c) // hello
	start := time.Now()
	h.windowStart = start
	for i := range 4 {
		h.Add(pageapi.Hash{Text: fmt.Sprint(i), Cluster: "burst-2"})
	}
	h.Add(msg("", 1))
	h.broadcast(start.Add(2 * time.Second))
	f := read(t, c)
	if !maps.Equal(f.Counts, pageapi.Counts{hashmsg.Primary: 1, "burst-2": 4}) {
		t.Fatalf("counts %v", f.Counts)
	}
	if !maps.Equal(f.Received, pageapi.Rates{hashmsg.Primary: 0.5, hashmsg.Burst: 0, "burst-2": 2}) {
		t.Fatalf("received %v, want every cluster named, over the 2 s since the last status", f.Received)
	}
}

func TestFansOutToEveryClient(t *testing.T) {
	h, ts := newHub(t, Config{}, nil)
	conns := []*websocket.Conn{dial(t, ts), dial(t, ts), dial(t, ts)}
	for _, c := range conns {
		read(t, c) // hello
	}
	waitClients(t, h, 3)
	h.Add(msg("bursty-", 1))
	h.broadcast(time.Now())
	for i, c := range conns {
		if f := read(t, c); len(f.Hashes) != 1 || f.Hashes[0] != (msg("bursty-", 1)) {
			t.Fatalf("client %d got %+v", i, f)
		}
	}
}

// TestSlowClientIsDropped: a client that stops reading is disconnected once
// its queue is full, while a reading client gets every frame.
func TestSlowClientIsDropped(t *testing.T) {
	h, ts := newHub(t, Config{ClientQueue: 4, MaxHashesPerFrame: 50}, nil)
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
			var f pageapi.Frame
			if err := fast.ReadJSON(&f); err != nil {
				close(got)
				return
			}
			if f.Type == pageapi.Update {
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

// TestHandlerErrorsReachTheSender: what a page sends goes to the handler,
// and a handler's error comes back to that page alone as an error frame.
func TestHandlerErrorsReachTheSender(t *testing.T) {
	got := make(chan string, 2)
	h, ts := newHub(t, Config{}, func(msg []byte) error {
		got <- string(msg)
		if string(msg) == "bad" {
			return errors.New("not applied: bad")
		}
		return nil
	})
	a, b := dial(t, ts), dial(t, ts)
	read(t, a)
	read(t, b)
	waitClients(t, h, 2)
	for _, m := range []string{"fine", "bad"} {
		if err := a.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
		if r := <-got; r != m {
			t.Fatalf("handler got %q, want %q", r, m)
		}
	}
	if f := read(t, a); f.Type != pageapi.Error || f.Message != "not applied: bad" {
		t.Fatalf("sender got %+v, want the handler's error", f)
	}
	h.Add(msg("", 1))
	h.broadcast(time.Now())
	if f := read(t, b); f.Type != pageapi.Update {
		t.Fatalf("the other page got %+v first, want the update (no error frame)", f)
	}
}

func TestCloseDisconnectsAndRefuses(t *testing.T) {
	h, ts := newHub(t, Config{}, nil)
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

// TestTooManyPagesAreRefused: beyond MaxClients a page is refused with
// close code 1013 (try again later) and counted; once one leaves, another
// is served.
func TestTooManyPagesAreRefused(t *testing.T) {
	h, ts := newHub(t, Config{MaxClients: 2}, nil)
	a, b := dial(t, ts), dial(t, ts)
	read(t, a)
	read(t, b)
	waitClients(t, h, 2)
	extra := dial(t, ts)
	_ = extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := extra.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseTryAgainLater) {
		t.Fatalf("a third page: %v, want close 1013", err)
	}
	if got := testutil.ToFloat64(h.refused); got != 1 {
		t.Fatalf("hub_clients_refused_total = %v", got)
	}
	a.Close()
	waitClients(t, h, 1)
	if f := read(t, dial(t, ts)); f.Type != pageapi.Hello {
		t.Fatalf("a page after one left got %+v, want the hello frame", f)
	}
}

// TestCommandFloodDisconnects: a page sending more than CommandsPerSecond
// (with a burst of as many) is disconnected with close code 1008, and its
// commands beyond the burst are not carried out.
func TestCommandFloodDisconnects(t *testing.T) {
	var handled atomic.Int64
	h, ts := newHub(t, Config{CommandsPerSecond: 5}, func([]byte) error { handled.Add(1); return nil })
	c := dial(t, ts)
	read(t, c)
	waitClients(t, h, 1)
	for range 100 {
		if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"setRate","rps":1}`)); err != nil {
			break // the server closed it
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
				t.Fatalf("flooding page: %v, want close 1008", err)
			}
			break
		}
	}
	if n := handled.Load(); n > 6 {
		t.Fatalf("%d commands carried out, want at most the burst of 5 (and one refilled)", n)
	}
	waitClients(t, h, 0)
}
