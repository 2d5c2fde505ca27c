package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

func (p *page) dial(t *testing.T) (*websocket.Conn, string) {
	t.Helper()
	ts := httptest.NewServer(p.e)
	t.Cleanup(ts.Close)
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, url
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

// readUntil skips frames until one passes want. (The hub's first update
// carries a status whether or not a page has connected by then, so a test
// cannot count on receiving it or not.)
func readUntil(t *testing.T, c *websocket.Conn, want func(pageapi.Frame) bool) pageapi.Frame {
	t.Helper()
	for {
		if f := read(t, c); want(f) {
			return f
		}
	}
}

// TestWebsocketCommands: the websocket takes the same commands as the HTTP
// API, through the same decoder; a bad one is answered with an error frame
// and changes nothing, a good one reaches every open page at once.
func TestWebsocketCommands(t *testing.T) {
	p := serve(t)
	a, _ := p.dial(t)
	b, _ := p.dial(t)
	for _, c := range []*websocket.Conn{a, b} {
		if f := read(t, c); f.Type != pageapi.Hello || f.MaxRPS != 100 {
			t.Fatalf("first frame %+v", f)
		}
	}

	tests := []struct {
		cmd     string
		wantErr string
	}{
		{`{"type":"setRate","rps":500}`, "outside 0 to 100"},
		{`{"type":"setRate","rps":2.5}`, "whole number"},
		{`{"type":"setRate"}`, `needs "rps"`},
		{`{"type":"explode"}`, `unknown command "explode"`},
		{`{"rps":25}`, `unknown command ""`},
		{`not json`, "a command is JSON"},
	}
	for _, tt := range tests {
		if err := a.WriteMessage(websocket.TextMessage, []byte(tt.cmd)); err != nil {
			t.Fatal(err)
		}
		if f := readUntil(t, a, func(f pageapi.Frame) bool { return f.Type != pageapi.Update }); f.Type != pageapi.Error || !strings.Contains(f.Message, tt.wantErr) {
			t.Fatalf("%s: got %+v, want error %q", tt.cmd, f, tt.wantErr)
		}
		if p.gen.Rate() != 0 {
			t.Fatalf("%s changed the rate to %d", tt.cmd, p.gen.Rate())
		}
	}

	if err := a.WriteMessage(websocket.TextMessage, []byte(`{"type":"setRate","rps":25}`)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.Conn{a, b} { // the sender and another page
		// Fails after read's deadline unless a status with the new rate comes.
		readUntil(t, c, func(f pageapi.Frame) bool { return f.Status != nil && f.Status.TargetRPS == 25 })
	}
	if p.gen.Rate() != 25 {
		t.Fatalf("rate %d after setRate 25", p.gen.Rate())
	}
}

func TestReadLimit(t *testing.T) {
	p := serve(t)
	c, _ := p.dial(t)
	read(t, c)
	if err := c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 2*maxCommandBytes))); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var err error
	for err == nil { // frames queued before the close may come first
		_, _, err = c.ReadMessage()
	}
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("read after oversized message: %v, want close 1009", err)
	}
	component.Eventually(t, 5*time.Second, "the client gone from the hub", func() bool { return p.hub.Clients() == 0 })
}

func TestOriginCheck(t *testing.T) {
	p := serve(t)
	c, url := p.dial(t)
	c.Close()
	_, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"http://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin dial: err %v, resp %v", err, resp)
	}
	same := "http" + strings.TrimPrefix(strings.TrimSuffix(url, "/ws"), "ws")
	c, _, err = websocket.DefaultDialer.Dial(url, http.Header{"Origin": {same}})
	if err != nil {
		t.Fatalf("same-origin dial: %v", err)
	}
	c.Close()
}
