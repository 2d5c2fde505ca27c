package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/pkg/health"
	"github.com/cloudburst-demo/cloudburst/pkg/server"
	"github.com/cloudburst-demo/cloudburst/services/worker/internal/api"
)

// recorder is a Publisher that keeps what it was given, or fails.
type recorder struct {
	mu   sync.Mutex
	msgs []string
	err  error
}

func (r *recorder) Publish(_ context.Context, msg string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.msgs = append(r.msgs, msg)
	return nil
}

func newWorker(t *testing.T, prefix string, pub api.Publisher) http.Handler {
	t.Helper()
	s := server.New("worker", server.Config{}, slog.New(slog.DiscardHandler), health.New())
	api.Register(s.Echo, s.Registry, api.Config{Prefix: prefix, Publisher: pub, MaxBodyBytes: 1024})
	return s.Handler()
}

func post(h http.Handler, body string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPostPublishesBeforeAnswering(t *testing.T) {
	// The last prefix needs JSON escaping in the answer.
	for _, prefix := range []string{"", "bursty-", `a "quoted" \ <prefix> é-`} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			pub := &recorder{}
			rec := post(newWorker(t, prefix, pub), `{"str":"hello"}`, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, body %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var resp api.Response
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			if len(pub.msgs) != 1 || pub.msgs[0] != resp.Message {
				t.Fatalf("published %q, answered %q", pub.msgs, resp.Message)
			}
			m, err := hashmsg.Parse(resp.Message)
			if err != nil || m.Prefix != prefix {
				t.Fatalf("message %q parses to %+v, %v", resp.Message, m, err)
			}
		})
	}
}

func TestEqualInputsGiveDifferentHashes(t *testing.T) {
	pub := &recorder{}
	h := newWorker(t, "", pub)
	post(h, `{"str":"same"}`, nil)
	post(h, `{"str":"same"}`, nil)
	if len(pub.msgs) != 2 || pub.msgs[0] == pub.msgs[1] {
		t.Fatalf("published %q", pub.msgs)
	}
}

func TestRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		body string
		// length, when not 0, is the request's declared ContentLength; -1
		// sends the body chunked, with no length.
		length int64
		code   int
		msg    string
	}{
		{"malformed JSON", `{"str":`, 0, 400, `{"str": "<text>"}`},
		{"not an object", `"hello"`, 0, 400, `{"str": "<text>"}`},
		{"empty body", ``, 0, 400, `{"str": "<text>"}`},
		{"missing str", `{"other":"x"}`, 0, 400, `"str" is required`},
		{"null str", `{"str":null}`, 0, 400, `"str" is required`},
		{"number str", `{"str":42}`, 0, 400, `"str" must be a string`},
		{"object str", `{"str":{"a":1}}`, 0, 400, `"str" must be a string`},
		{"trailing data", `{"str":"a"} {"str":"b"}`, 0, 400, `{"str": "<text>"}`},
		{"body over limit", `{"str":"` + strings.Repeat("x", 2000) + `"}`, 0, 413, "larger than 1024 bytes"},
		{"declared length over limit", `{"str":"x"}`, 5000, 413, "larger than 1024 bytes"},
		{"chunked body over limit", `{"str":"` + strings.Repeat("x", 2000) + `"}`, -1, 413, "larger than 1024 bytes"},
		{"chunked body with trailing data", `{"str":"x"} {}`, -1, 400, `{"str": "<text>"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &recorder{}
			h := newWorker(t, "", pub)
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			if tt.length != 0 {
				req.ContentLength = tt.length
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("status = %d, want %d (body %s)", rec.Code, tt.code, rec.Body)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body is not JSON: %q", rec.Body)
			}
			if !strings.Contains(body["error"], tt.msg) {
				t.Fatalf("error = %q, want it to mention %q", body["error"], tt.msg)
			}
			if len(pub.msgs) != 0 {
				t.Fatalf("bad input was published: %q", pub.msgs)
			}
		})
	}
}

func TestPublishFailureIs503(t *testing.T) {
	pub := &recorder{err: errors.New("dial tcp: connection refused")}
	h := newWorker(t, "", pub)
	rec := post(h, `{"str":"hello"}`, nil)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "connection refused") {
		t.Fatalf("internal error leaked to the client: %s", rec.Body)
	}

	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	m := httptest.NewRecorder()
	h.ServeHTTP(m, req)
	b, _ := io.ReadAll(m.Body)
	for _, want := range []string{"worker_publish_errors_total 1", "worker_hashes_published_total 0", `http_requests_total{code="503",method="POST",route="/"} 1`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
