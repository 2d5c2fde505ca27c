package web_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/cloudburst-demo/cloudburst/services/frontend/internal/web"
)

type fakeCtl struct{ rps int }

func (f *fakeCtl) SetRate(rps int) error {
	if rps < 0 || rps > 100 {
		return errors.New("invalid rate: 500 requests/s is outside 0 to 100")
	}
	f.rps = rps
	return nil
}
func (f *fakeCtl) Rate() int   { return f.rps }
func (f *fakeCtl) Status() any { return map[string]int{"targetRps": f.rps} }

func serve(t *testing.T) (*echo.Echo, *fakeCtl) {
	t.Helper()
	e := echo.New()
	ctl := &fakeCtl{}
	web.Register(e, ctl, func(c echo.Context) error { return c.String(http.StatusTeapot, "ws") })
	return e, ctl
}

func do(e *echo.Echo, method, path, body string) (int, string, http.Header) {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	return rec.Code, rec.Body.String(), rec.Header()
}

func TestPageAndAssets(t *testing.T) {
	e, _ := serve(t)
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
	if code, _, _ := do(e, http.MethodGet, "/ws", ""); code != http.StatusTeapot {
		t.Fatalf("/ws not routed to the websocket handler: %d", code)
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ctl := serve(t)
			ctl.rps = 7
			code, body, _ := do(e, http.MethodPut, "/api/rate", tt.body)
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Fatalf("PUT /api/rate %s = %d %s", tt.body, code, body)
			}
			if ctl.rps != tt.rps {
				t.Fatalf("rate is %d, want %d", ctl.rps, tt.rps)
			}
			if _, body, _ = do(e, http.MethodGet, "/api/rate", ""); strings.TrimSpace(body) != fmt.Sprintf(`{"rps":%d}`, tt.rps) {
				t.Fatalf("GET /api/rate = %s, want rate %d", body, tt.rps)
			}
		})
	}
}
