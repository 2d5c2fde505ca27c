package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/pkg/redisconn"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/redisserver"
)

// startFrontend runs the whole frontend, as main does, on a loopback port
// of its own choosing (PORT=0, so no other test can take it first) against
// the given Redis.
func startFrontend(t *testing.T, redisAddr string) string {
	t.Helper()
	for k, v := range map[string]string{
		"HOST": "127.0.0.1", "PORT": "0", "REDIS_URL": redisAddr,
		"PROCESSOR_URL": "http://127.0.0.1:1/", "DRAIN_DELAY": "0s",
	} {
		t.Setenv(k, v)
	}
	cfg, err := envconf.Load[config]()
	if err != nil {
		t.Fatal(err)
	}
	rdb, err := redisconn.Open(cfg.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	logs := &process.Log{Keep: 1000}
	a, err := newApp(cfg, slog.New(slog.NewJSONHandler(logs, nil)), rdb)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("frontend stopped with %v", err)
		}
		rdb.Close()
	})
	var base string
	component.EventuallyNil(t, 10*time.Second, "frontend listening", func() error {
		addr, err := component.ListenAddr(logs.Lines())
		base = "http://" + addr
		return err
	})
	component.Eventually(t, 10*time.Second, "frontend ready", func() bool { return readyz(base) == http.StatusOK })
	return base
}

// readyz is the status of the frontend's readiness check, 0 when it does not
// answer.
func readyz(base string) int {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSubscriptionSurvivesRedisRestart: hashes published on Redis reach a
// page over the websocket, and do again after Redis restarts, with no action
// from the page or the operator.
func TestSubscriptionSurvivesRedisRestart(t *testing.T) {
	rs := redisserver.Start(t)
	base := startFrontend(t, rs.Addr)

	ws, _, err := websocket.DefaultDialer.Dial("ws"+base[len("http"):]+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	frames := make(chan pageapi.Frame, 1024)
	go func() {
		defer close(frames)
		for {
			var f pageapi.Frame
			if err := ws.ReadJSON(&f); err != nil {
				return
			}
			frames <- f
		}
	}()

	publishUntilSeen := func(phase string) {
		t.Helper()
		pub, err := redisconn.Open(rs.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer pub.Close()
		i := 0
		component.EventuallyNil(t, 15*time.Second, phase+": a published hash reaching the page", func() error {
			i++
			msg := hashmsg.Format("bursty-", sha256.Sum256([]byte(fmt.Sprint(phase, i))))
			_ = pub.Publish(context.Background(), "calculation", msg).Err()
			wait := time.After(200 * time.Millisecond)
			for {
				select {
				case f, ok := <-frames:
					if !ok {
						t.Fatalf("%s: websocket closed", phase)
					}
					for _, h := range f.Hashes {
						if h.Text == msg {
							if h.Cluster != hashmsg.Burst {
								t.Fatalf("%s: %q reached the page as %q, want burst", phase, h.Text, h.Cluster)
							}
							return nil
						}
					}
				case <-wait:
					return fmt.Errorf("%q not on the page within 200ms", msg)
				}
			}
		})
	}

	publishUntilSeen("before restart")

	// The figures the page shows are on /metrics too.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"loadgen_target_rps 0", "loadgen_achieved_rps", "loadgen_in_flight 0",
		`loadgen_requests_total{result="dropped"} 0`, "hub_clients 1",
		`hashfeed_messages_total{cluster="burst"}`, "hub_frames_total", "http_requests_total",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	rs.Stop()
	// The frontend has noticed: it turns not ready without Redis.
	component.Eventually(t, 10*time.Second, "the frontend not ready without Redis", func() bool {
		return readyz(base) == http.StatusServiceUnavailable
	})
	rs.Restart()
	publishUntilSeen("after restart")
}
