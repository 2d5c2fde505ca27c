package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cloudburst-demo/cloudburst/pkg/health"
	"github.com/cloudburst-demo/cloudburst/pkg/poll"
	"github.com/cloudburst-demo/cloudburst/pkg/server"
)

func newServer(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	s := server.New("test", cfg, slog.New(slog.DiscardHandler), health.New())
	s.Echo.GET("/teapot", func(echo.Context) error { return echo.NewHTTPError(http.StatusTeapot, "short and stout") })
	s.Echo.GET("/boom", func(echo.Context) error { return errors.New("secret detail") })
	return s
}

func TestErrorsAreJSONAndCounted(t *testing.T) {
	s := newServer(t, server.Config{})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	tests := []struct {
		path string
		code int
		body string
	}{
		{"/teapot", 418, `{"error":"short and stout"}`},
		{"/boom", 500, `{"error":"Internal Server Error"}`},
		{"/nowhere", 404, `{"error":"Not Found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(ts.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code || strings.TrimSpace(string(b)) != tt.body {
				t.Fatalf("GET %s = %d %s, want %d %s", tt.path, resp.StatusCode, b, tt.code, tt.body)
			}
		})
	}

	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`http_requests_total{code="418",method="GET",route="/teapot"} 1`,
		`http_requests_total{code="500",method="GET",route="/boom"} 1`,
		`http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`http_request_duration_seconds_count{method="GET",route="/teapot"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestRunReportsTakenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	s := newServer(t, server.Config{Host: "127.0.0.1", Port: port})
	err = s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listening on 127.0.0.1:"+strconv.Itoa(port)) {
		t.Fatalf("Run on a taken port = %v", err)
	}
}

// TestGracefulShutdown checks the order: not ready first, an in-flight
// request finishes, then the listener closes.
func TestGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	s := newServer(t, server.Config{Host: "127.0.0.1", Port: port, DrainDelay: 300 * time.Millisecond, ShutdownTimeout: 5 * time.Second})
	release := make(chan struct{})
	entered := make(chan struct{})
	s.Echo.GET("/slow", func(c echo.Context) error {
		close(entered)
		<-release
		return c.String(http.StatusOK, "done")
	})

	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx) }()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	waitFor(t, func() bool { return get(base+"/readyz") == 200 })

	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(b)
	}()
	<-entered

	cancel()
	waitFor(t, func() bool { return get(base+"/readyz") == 503 })
	close(release)
	if got := <-slow; got != "done" {
		t.Fatalf("in-flight request got %q, want it to finish", got)
	}
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
		t.Fatal("listener still open after Run returned")
	}
}

func get(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	if err := poll.Until(context.Background(), 5*time.Second, 10*time.Millisecond, poll.True("condition", cond)); err != nil {
		t.Fatal(err)
	}
}

// TestClientsCannotAddSeries: requests with made-up methods and paths are
// answered as usual and counted, but under a closed set of label values:
// the number of series does not grow with them.
func TestClientsCannotAddSeries(t *testing.T) {
	s := newServer(t, server.Config{})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	series := func() int {
		t.Helper()
		resp, err := http.Get(ts.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		n := 0
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "http_request") {
				n++
			}
		}
		return n
	}
	send := func(method, path string) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// Every kind of answer once: the series a well-behaved client creates.
	for _, m := range []string{"GET", "POST", "MADEUP"} {
		for _, p := range []string{"/teapot", "/nowhere", "/boom"} {
			send(m, p)
		}
	}
	series() // the scrape's own series, counted from the next one on
	base := series()
	for i := range 200 {
		send(fmt.Sprintf("X%d", i), fmt.Sprintf("/made/up/%d", i))
		send("GET", fmt.Sprintf("/made/up/%d", i))
		send(fmt.Sprintf("Y%d", i), "/teapot")
	}
	if got := series(); got != base {
		t.Fatalf("600 requests with made-up methods and paths took the request series from %d to %d lines", base, got)
	}
}

// TestSlowBodyIsCut: a client that declares a body and trickles it in is cut
// off once BodyReadTimeout passed, and the server's goroutine for it ends; a
// request with its body in time is served on the same server.
func TestSlowBodyIsCut(t *testing.T) {
	s := newServer(t, server.Config{})
	s.BodyReadTimeout = 300 * time.Millisecond
	s.Echo.POST("/echo", func(c echo.Context) error {
		b, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "reading the body")
		}
		return c.String(http.StatusOK, string(b))
	})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	before := runtime.NumGoroutine()
	var conns []net.Conn
	// Before ts.Close, which would wait for connections the server holds.
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 20 {
		c, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx"); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	// Each slow client is answered (or dropped) once the deadline passes.
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("the slow client was not cut off: %v", err)
		}
		c.Close()
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("slow bodies were cut after %s", d)
	}
	if err := poll.Until(context.Background(), 5*time.Second, 20*time.Millisecond, func() error {
		if n := runtime.NumGoroutine(); n > before+2 {
			return fmt.Errorf("%d goroutines, %d before the slow clients", n, before)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Post(ts.URL+"/echo", "text/plain", strings.NewReader("in time"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "in time" {
		t.Fatalf("a prompt body: %d %q", resp.StatusCode, b)
	}
}

// TestHeadAndSecurityHeaders: HEAD is answered as GET without a body, and
// every answer forbids sniffing and framing.
func TestHeadAndSecurityHeaders(t *testing.T) {
	s := newServer(t, server.Config{})
	s.Echo.GET("/page", func(c echo.Context) error { return c.HTML(http.StatusOK, "<p>page</p>") })
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for _, tt := range []struct {
		method, path string
		code         int
		body         bool
	}{
		{http.MethodGet, "/page", 200, true},
		{http.MethodHead, "/page", 200, false},
		{http.MethodHead, "/nowhere", 404, false},
		{http.MethodPost, "/page", 405, true},
		{http.MethodGet, "/teapot", 418, true},
	} {
		req, _ := http.NewRequest(tt.method, ts.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || (len(b) > 0) != tt.body {
			t.Errorf("%s %s = %d with %d bytes, want %d (body %v)", tt.method, tt.path, resp.StatusCode, len(b), tt.code, tt.body)
		}
		for h, want := range map[string]string{
			"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'",
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s %s: %s %q, want %q", tt.method, tt.path, h, got, want)
			}
		}
	}
}
