package decisions

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

func TestPoller(t *testing.T) {
	var mu sync.Mutex
	body, code := `{"leader":true,"weights":{"primary":100,"burst":0},"strategy":"switch","highRps":15,"lowRps":10,"changes":[]}`, 200
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	p := NewPoller(ts.URL+"/", 20*time.Millisecond, func() { changes.Add(1) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = p.Run(ctx) }()

	wait := func(what string, cond func(*bursterapi.Status) bool) {
		t.Helper()
		component.Eventually(t, 5*time.Second, what, func() bool { return cond(p.Latest()) })
	}
	wait("first status", func(s *bursterapi.Status) bool { return s != nil && s.Weights.Primary == 100 })
	n := changes.Load()

	set(`{"leader":false,"strategy":"switch","changes":[]}`, 200)
	time.Sleep(100 * time.Millisecond)
	if s := p.Latest(); s == nil || s.Weights == nil {
		t.Fatal("a standby's empty answer replaced the leader's status")
	}

	set(`{"leader":true,"weights":{"primary":0,"burst":100},"observedRps":25.5,"changes":[{"at":"2026-11-22T10:00:00Z","from":{"primary":100,"burst":0},"to":{"primary":0,"burst":100},"rps":25.5,"reason":"25.5 req/s above HIGH_RPS 15","kind":"WeightsChanged"}]}`, 200)
	wait("burst", func(s *bursterapi.Status) bool { return s != nil && s.Weights.Burst == 100 && len(s.Changes) == 1 })
	if changes.Load() <= n {
		t.Fatal("a new split did not call onChange")
	}

	set(`oops`, 500)
	wait("unreachable", func(s *bursterapi.Status) bool { return s == nil })
}
