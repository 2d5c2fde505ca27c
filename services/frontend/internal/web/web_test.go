package web

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
	"github.com/cloudburst-demo/cloudburst/services/frontend/internal/loadgen"
	"github.com/cloudburst-demo/cloudburst/services/frontend/internal/stream"
)

// page is the routes over a real hub and a real (never started) generator,
// wired as main wires them: every accepted rate is announced to the hub.
type page struct {
	e   *echo.Echo
	gen *loadgen.Generator
	hub *stream.Hub
}

func serve(t *testing.T) *page {
	t.Helper()
	gen, err := loadgen.New(loadgen.Config{URL: "http://127.0.0.1:1/", MaxRPS: 100, MaxInFlight: 1, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	status := func() pageapi.Status { return pageapi.Status{Generator: gen.Stats()} }
	// Status only when announced (the periodic one is an hour away), so a
	// status frame after a command proves the announcement.
	hub := stream.NewHub(stream.Config{FrameInterval: 10 * time.Millisecond, StatusInterval: time.Hour, Status: status, MaxRPS: 100},
		slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	gen.OnRateChange(func(int) { hub.StatusChanged() })
	e := echo.New()
	Register(e, Config{Generator: gen, Hub: hub, Status: status})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = hub.Run(ctx) }()
	t.Cleanup(func() { cancel(); hub.Close() })
	return &page{e: e, gen: gen, hub: hub}
}

func do(e *echo.Echo, method, path, body string) (int, string, http.Header) {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	return rec.Code, rec.Body.String(), rec.Header()
}

func TestPageAndAssets(t *testing.T) {
	e := serve(t).e
	tests := []struct {
		path, contentType string
		contains          []string
	}{
		{"/", "text/html", []string{`<input type="range" id="rate"`, `<output id="rate-value"`, `<ol id="hashes"`, `/static/app.js`, `<canvas id="chart"`, `id="split-display"`, `id="decisions"`}},
		{"/static/app.js", "javascript", []string{"new WebSocket", "MAX_ITEMS = 100", "requestAnimationFrame"}},
		{"/static/style.css", "text/css", []string{"--burst"}},
		{"/static/chart.js", "javascript", []string{"const Chart", "WINDOW_MS = 60_000"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body, hdr := do(e, http.MethodGet, tt.path, "")
			if code != 200 || !strings.Contains(hdr.Get("Content-Type"), tt.contentType) {
				t.Fatalf("GET %s = %d %s", tt.path, code, hdr.Get("Content-Type"))
			}
			for _, want := range tt.contains {
				if !strings.Contains(body, want) {
					t.Errorf("GET %s lacks %q", tt.path, want)
				}
			}
		})
	}
	if code, body, _ := do(e, http.MethodGet, "/ws", ""); code != http.StatusBadRequest || strings.TrimSpace(body) != http.StatusText(http.StatusBadRequest) {
		t.Fatalf("GET /ws without a handshake = %d %s, want the upgrader's 400", code, body)
	}
}

// TestNoRemoteAssets: the page must work offline, so nothing it ships may
// load from another host.
func TestNoRemoteAssets(t *testing.T) {
	remote := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|@import\s+url\(\s*["']?(https?:)?//`)
	err := fs.WalkDir(os.DirFS("static"), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join("static", path))
		if err != nil {
			return err
		}
		if m := remote.Find(b); m != nil {
			t.Errorf("%s loads a remote resource: %s", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRateAPI(t *testing.T) {
	tests := []struct {
		name, body string
		code       int
		want       string
		rps        int
	}{
		{"set", `{"rps":25}`, 200, `{"rps":25}`, 25},
		{"zero stops", `{"rps":0}`, 200, `{"rps":0}`, 0},
		{"out of range", `{"rps":500}`, 400, "outside 0 to 100", 7},
		{"fraction", `{"rps":2.5}`, 400, "whole number", 7},
		{"missing", `{}`, 400, "whole number", 7},
		{"not json", `fast`, 400, "whole number", 7},
		{"too large", `{"rps":` + strings.Repeat("1", 2000) + `}`, 400, "whole number", 7},
		{"the command itself", `{"type":"setRate","rps":3}`, 200, `{"rps":3}`, 3},
		{"another command", `{"type":"explode","rps":3}`, 400, `not \"explode\"`, 7},
		{"trailing data", `{"rps":3} {"rps":4}`, 400, "whole number", 7},
		{"key in another case", `{"RPS":3}`, 400, `unknown key \"RPS\"`, 7},
		{"unknown key", `{"rps":3,"burst":true}`, 400, `unknown key \"burst\"`, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := serve(t)
			e := p.e
			if err := p.gen.SetRate(7); err != nil {
				t.Fatal(err)
			}
			code, body, _ := do(e, http.MethodPut, "/api/rate", tt.body)
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Fatalf("PUT /api/rate %s = %d %s", tt.body, code, body)
			}
			if p.gen.Rate() != tt.rps {
				t.Fatalf("rate is %d, want %d", p.gen.Rate(), tt.rps)
			}
			if _, body, _ = do(e, http.MethodGet, "/api/rate", ""); strings.TrimSpace(body) != fmt.Sprintf(`{"rps":%d}`, tt.rps) {
				t.Fatalf("GET /api/rate = %s, want rate %d", body, tt.rps)
			}
		})
	}
}
