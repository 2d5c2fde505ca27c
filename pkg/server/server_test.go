package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
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
