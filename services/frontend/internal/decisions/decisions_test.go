package decisions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

func TestPoller(t *testing.T) {
	var mu sync.Mutex
	body, code, leader := policyJSON(100, 0, ""), 200, "true"
	var requests atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/api/status" || r.URL.Query().Get("policy") != "worker" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Burster-Leader", leader)
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	defer ts.Close()
	set := func(b string, c int) { mu.Lock(); body, code, leader = b, c, "true"; mu.Unlock() }
	standby := func(b string) { mu.Lock(); body, code, leader = b, 200, "false"; mu.Unlock() }

	var changes atomic.Int32
	reg := prometheus.NewRegistry()
	p := NewPoller(Config{URL: ts.URL + "/", Policy: "worker", Interval: 20 * time.Millisecond, OnChange: func() { changes.Add(1) },
		Log: slog.New(slog.DiscardHandler), Metrics: reg})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = p.Run(ctx) }()

	wait := func(what string, cond func(*v1alpha1.BurstPolicy) bool) {
		t.Helper()
		component.Eventually(t, 5*time.Second, what, func() bool { s, _ := p.Latest(); return cond(s) })
	}
	wait("first status", func(s *v1alpha1.BurstPolicy) bool { return s != nil && s.Status.Split == "100/0" })
	n := changes.Load()

	standby(policyJSON(50, 50, ""))
	// Enough polls for the standby's answer to have been read several times.
	polled := requests.Load()
	component.Eventually(t, 5*time.Second, "three more polls", func() bool { return requests.Load() >= polled+3 })
	if s, _ := p.Latest(); s == nil || s.Status.Split != "100/0" {
		t.Fatal("a standby's answer replaced the leader's fresh one")
	}

	set(policyJSON(0, 100, "2026-11-22T10:00:00.250000Z"), 200)
	wait("burst", func(s *v1alpha1.BurstPolicy) bool {
		return s != nil && s.Status.Split == "0/100" && len(s.Status.Changes) == 1 && s.Status.Changes[0].Time.Nanosecond() == 250e6
	})
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
		{`<html>not the burster</html>`, 200, Undecodable, "the burster's answer is not a BurstPolicy (another version?)"},
		{`{"apiVersion":"cloudburst.dev/v1beta9","kind":"BurstPolicy"}`, 200, Undecodable,
			"the burster serves BurstPolicy cloudburst.dev/v1beta9, this frontend reads BurstPolicy cloudburst.dev/v1alpha1"},
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

// policyJSON is the burster's answer: a policy at primary/burst, with one
// change at changed when it is set.
func policyJSON(primary, burst int, changed string) string {
	changes := ""
	if changed != "" {
		changes = fmt.Sprintf(`,"changes":[{"time":%q,"weights":[{"name":"primary","weight":%d},{"name":"burst","weight":%d}],"reason":"WeightsChanged","rateRps":25.5}]`,
			changed, primary, burst)
	}
	return fmt.Sprintf(`{"apiVersion":"cloudburst.dev/v1alpha1","kind":"BurstPolicy","metadata":{"name":"worker"},`+
		`"spec":{"strategy":{"type":"switch","highRps":15,"lowRps":10}},`+
		`"status":{"weights":[{"name":"primary","weight":%d},{"name":"burst","weight":%d}],"split":"%d/%d"%s}}`,
		primary, burst, primary, burst, changes)
}

// TestStandby: a standby's answer (the status the leader last wrote)
// stands in only once the leader has been silent for leaderFresh.
func TestStandby(t *testing.T) {
	p := NewPoller(Config{URL: "http://burster", Interval: time.Second, OnChange: func() {},
		Log: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry()})
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	policy := func(split string) *v1alpha1.BurstPolicy {
		return &v1alpha1.BurstPolicy{Status: v1alpha1.BurstPolicyStatus{Split: split}}
	}
	for _, step := range []struct {
		after  time.Duration
		leader bool
		split  string
		want   string
	}{
		{0, false, "90/10", "90/10"}, // nothing better known
		{time.Second, true, "80/20", "80/20"},
		{2 * time.Second, false, "70/30", "80/20"},           // the leader answered 1 s ago
		{time.Second + leaderFresh, false, "70/30", "70/30"}, // silent for leaderFresh
		{2*time.Second + leaderFresh, true, "60/40", "60/40"},
	} {
		p.take(policy(step.split), step.leader, at.Add(step.after))
		if got, _ := p.Latest(); got.Status.Split != step.want {
			t.Fatalf("after %s (leader %v, %s): %s, want %s", step.after, step.leader, step.split, got.Status.Split, step.want)
		}
	}
}

// failing answers every request with an error, without a network, so that
// the poller's clock can be synctest's.
type failing struct{ fail atomic.Bool }

func (f *failing) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.fail.Load() {
		return nil, errors.New("connection refused")
	}
	return &http.Response{StatusCode: 200, Status: "200 OK", Body: io.NopCloser(strings.NewReader(policyJSON(100, 0, ""))),
		Header: http.Header{"Burster-Leader": {"true"}}, Request: r}, nil
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
