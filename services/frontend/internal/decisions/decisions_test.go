package decisions

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

func TestPoller(t *testing.T) {
	var mu sync.Mutex
	body, code := `{"leader":true,"weights":{"primary":100,"burst":0},"strategy":"switch","highRps":15,"lowRps":10,"changes":[]}`, 200
	var requests atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/api/status" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	defer ts.Close()
	set := func(b string, c int) { mu.Lock(); body, code = b, c; mu.Unlock() }

	var changes atomic.Int32
	reg := prometheus.NewRegistry()
	p := NewPoller(Config{URL: ts.URL + "/", Interval: 20 * time.Millisecond, OnChange: func() { changes.Add(1) },
		Log: slog.New(slog.DiscardHandler), Metrics: reg})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = p.Run(ctx) }()

	wait := func(what string, cond func(*bursterapi.Status) bool) {
		t.Helper()
		component.Eventually(t, 5*time.Second, what, func() bool { s, _ := p.Latest(); return cond(s) })
	}
	wait("first status", func(s *bursterapi.Status) bool { return s != nil && s.Weights.Primary == 100 })
	n := changes.Load()

	set(`{"leader":false,"strategy":"switch","changes":[]}`, 200)
	// Enough polls for the standby's answer to have been read several times.
	polled := requests.Load()
	component.Eventually(t, 5*time.Second, "three more polls", func() bool { return requests.Load() >= polled+3 })
	if s, _ := p.Latest(); s == nil || s.Weights == nil {
		t.Fatal("a standby's empty answer replaced the leader's status")
	}

	set(`{"leader":true,"weights":{"primary":0,"burst":100},"observedRps":25.5,"changes":[{"at":"2026-11-22T10:00:00Z","from":{"primary":100,"burst":0},"to":{"primary":0,"burst":100},"rps":25.5,"reason":"25.5 req/s above HIGH_RPS 15","kind":"WeightsChanged"}]}`, 200)
	wait("burst", func(s *bursterapi.Status) bool { return s != nil && s.Weights.Burst == 100 && len(s.Changes) == 1 })
	if changes.Load() <= n {
		t.Fatal("a new split did not call onChange")
	}

	// Each failure is said on the page, by its kind, and counted.
	for _, tt := range []struct {
		body   string
		code   int
		reason Reason
		page   string
	}{
		{`oops`, 500, BadStatus, "the burster answered 500 Internal Server Error"},
		{`<html>not the burster</html>`, 200, Undecodable, "the burster's answer is not its status (another version?)"},
	} {
		set(tt.body, tt.code)
		component.Eventually(t, 5*time.Second, tt.page, func() bool { s, problem := p.Latest(); return s == nil && problem == tt.page })
		if n := testutil.ToFloat64(p.failures.WithLabelValues(string(tt.reason))); n < 1 {
			t.Fatalf("reason %s counted %v times", tt.reason, n)
		}
	}
	ts.Close()
	component.Eventually(t, 5*time.Second, "unreachable", func() bool {
		_, problem := p.Latest()
		return problem == "the burster does not answer (still starting, or down)"
	})
	if n, err := testutil.GatherAndCount(reg, "frontend_burster_poll_failures_total"); err != nil || n != 3 {
		t.Fatalf("the failure metric has %d series (%v), want one per reason", n, err)
	}
}

// failing answers every request with an error, without a network, so that
// the poller's clock can be synctest's.
type failing struct{ fail atomic.Bool }

func (f *failing) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.fail.Load() {
		return nil, errors.New("connection refused")
	}
	body := `{"leader":true,"weights":{"primary":100,"burst":0},"strategy":"switch","changes":[]}`
	return &http.Response{StatusCode: 200, Status: "200 OK", Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// TestPollerLogsBounded: a burster down for 100 s of polls every second is
// logged when the failure starts and every 30 s after, and its end once.
func TestPollerLogsBounded(t *testing.T) {
	// Inside the bubble, time.Sleep moves the bubble's clock and waits no
	// real time; synctest.Wait waits until every goroutine in it is blocked.
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		p := NewPoller(Config{URL: "http://burster", Interval: time.Second, OnChange: func() {},
			Log: slog.New(slog.NewTextHandler(&logs, nil)), Metrics: prometheus.NewRegistry()})
		rt := &failing{}
		rt.fail.Store(true)
		p.client.Transport = rt
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { _ = p.Run(ctx); close(done) }()
		time.Sleep(100*time.Second - time.Millisecond) // polls at 0, 1, ..., 99 s
		synctest.Wait()
		if n := testutil.ToFloat64(p.failures.WithLabelValues(string(Unreachable))); n != 100 {
			t.Fatalf("%v failures counted, want 100", n)
		}
		if n := strings.Count(logs.String(), "cannot be read"); n != 4 { // at 0, 30, 60 and 90 s
			t.Fatalf("%d lines logged for 100 failed polls, want 4:\n%s", n, logs.String())
		}
		rt.fail.Store(false)
		time.Sleep(time.Second)
		synctest.Wait()
		if s, problem := p.Latest(); s == nil || problem != "" || strings.Count(logs.String(), "can be read again") != 1 {
			t.Fatalf("after recovery: %v %q\n%s", s, problem, logs.String())
		}
		cancel()
		<-done
	})
}
