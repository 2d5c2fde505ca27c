package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cloudburst-demo/cloudburst/pkg/redisconn"
	"github.com/cloudburst-demo/cloudburst/services/worker/internal/api"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/redisserver"
)

// startWorker serves the worker, wired as main wires it, against redisAddr.
func startWorker(t testing.TB, redisAddr, prefix string) *httptest.Server {
	t.Helper()
	return startWorkerLog(t, redisAddr, prefix, slog.New(slog.DiscardHandler))
}

// startWorkerLog is startWorker logging to log.
func startWorkerLog(t testing.TB, redisAddr, prefix string, log *slog.Logger) *httptest.Server {
	t.Helper()
	t.Setenv("REDIS_URL", redisAddr)
	t.Setenv("PREFIX", prefix)
	cfg, err := envconf.Load[config]()
	if err != nil {
		t.Fatal(err)
	}
	rdb, err := redisconn.Open(cfg.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	srv, pub := newServer(cfg, log, rdb)
	t.Cleanup(pub.Close) // after the server (cleanups run last first)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func postStr(client *http.Client, url, str string) (int, string, error) {
	resp, err := client.Post(url, "application/json", strings.NewReader(fmt.Sprintf(`{"str":%q}`, str)))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var body api.Response
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &body)
	return resp.StatusCode, body.Message, nil
}

// TestEveryAcknowledgedRequestIsPublishedOnce sends concurrent requests and
// checks the channel: each 200's message arrives exactly once, and nothing
// arrives that was not acknowledged.
func TestEveryAcknowledgedRequestIsPublishedOnce(t *testing.T) {
	rs := redisserver.Start(t)
	ts := startWorker(t, rs.Addr, "bursty-")

	sub := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer sub.Close()
	ps := sub.Subscribe(context.Background(), "calculation")
	defer ps.Close()
	if _, err := ps.Receive(context.Background()); err != nil {
		t.Fatalf("subscribing: %v", err)
	}
	msgs := ps.Channel(redis.WithChannelSize(10000))

	const workers, perWorker = 16, 40
	var mu sync.Mutex
	acked := map[string]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				code, msg, err := postStr(ts.Client(), ts.URL, fmt.Sprintf("w%d-%d", w, i))
				if err != nil || code != http.StatusOK {
					t.Errorf("POST: %d %v", code, err)
					return
				}
				mu.Lock()
				acked[msg]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(acked) != workers*perWorker {
		t.Fatalf("%d distinct acknowledged messages, want %d", len(acked), workers*perWorker)
	}

	received := map[string]int{}
	timeout := time.After(10 * time.Second)
	for n := 0; n < len(acked); n++ {
		select {
		case m := <-msgs:
			received[m.Payload]++
		case <-timeout:
			t.Fatalf("received %d of %d acknowledged messages", n, len(acked))
		}
	}
	// Anything still arriving would be a duplicate or an unacknowledged publish.
	select {
	case m := <-msgs:
		t.Fatalf("extra message %q", m.Payload)
	case <-time.After(300 * time.Millisecond):
	}
	for msg, n := range received {
		if acked[msg] != 1 || n != 1 {
			t.Fatalf("message %q acknowledged %d times, received %d times", msg, acked[msg], n)
		}
		if !strings.HasPrefix(msg, "bursty-") {
			t.Fatalf("message %q lacks the prefix", msg)
		}
	}
}

// TestRedisOutage: while Redis is down the worker answers 503 quickly and is
// not ready; once Redis is back it recovers by itself.
func TestRedisOutage(t *testing.T) {
	rs := redisserver.Start(t)
	ts := startWorker(t, rs.Addr, "")
	client := &http.Client{Timeout: 5 * time.Second}

	if code, _, err := postStr(client, ts.URL, "before"); err != nil || code != 200 {
		t.Fatalf("before the outage: %d %v", code, err)
	}
	rs.Stop()

	for i := range 3 {
		start := time.Now()
		code, _, err := postStr(client, ts.URL, "during")
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusServiceUnavailable {
			t.Fatalf("request %d during the outage = %d, want 503", i, code)
		}
		// The contract bound, not a benchmark: PUBLISH_TIMEOUT is 1s.
		if d := time.Since(start); d > 2500*time.Millisecond {
			t.Fatalf("503 took %s, want about a second at most", d)
		}
	}
	if code := status(t, client, ts.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during the outage = %d, want 503", code)
	}
	if code := status(t, client, ts.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz during the outage = %d, want 200", code)
	}

	rs.Restart()
	component.EventuallyNil(t, 10*time.Second, "worker recovering after Redis returns", func() error {
		code, _, err := postStr(client, ts.URL, "after")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("answered %d", code)
		}
		return err
	})
	if code := status(t, client, ts.URL+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz after recovery = %d", code)
	}
}

// TestTraceSpansRequestAndPublish: a request carrying W3C trace context
// produces a server span and a Redis PUBLISH span in that same trace.
func TestTraceSpansRequestAndPublish(t *testing.T) {
	// Tracing on, as the OTEL_* variables turn it on (the tracer provider
	// below stands in for the exporter SetupTracing would build).
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	rs := redisserver.Start(t)
	rec := tracetest.NewSpanRecorder()
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	ts := startWorker(t, rs.Addr, "")
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader(`{"str":"traced"}`))
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}

	var server, publish bool
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID().String() != traceID {
			continue
		}
		switch {
		case s.Name() == "POST /":
			server = true
		case strings.Contains(strings.ToLower(s.Name()), "publish"):
			publish = true
		}
	}
	if !server || !publish {
		var names []string
		for _, s := range rec.Ended() {
			names = append(names, s.Name()+"@"+s.SpanContext().TraceID().String())
		}
		t.Fatalf("in trace %s: server span %v, publish span %v; spans: %v", traceID, server, publish, names)
	}
}

// TestRedisStopsMidBatches: with 16 clients posting and pipelines in flight,
// Redis stops. No request is answered 200 whose message a subscriber did
// not receive; requests during the outage get 503; once Redis is back the
// worker publishes again by itself.
func TestRedisStopsMidBatches(t *testing.T) {
	rs := redisserver.Start(t)
	ts := startWorker(t, rs.Addr, "")
	subscribe := func() <-chan *redis.Message {
		t.Helper()
		sub := redis.NewClient(&redis.Options{Addr: rs.Addr})
		t.Cleanup(func() { sub.Close() })
		ps := sub.Subscribe(context.Background(), "calculation")
		if _, err := ps.Receive(context.Background()); err != nil {
			t.Fatalf("subscribing: %v", err)
		}
		return ps.Channel(redis.WithChannelSize(100000))
	}
	msgs := subscribe()

	var mu sync.Mutex
	acked := map[string]bool{}
	codes := map[int]int{}
	stop := post16(t, ts.URL, func(code int, msg string) {
		mu.Lock()
		defer mu.Unlock()
		codes[code]++
		if code == http.StatusOK {
			acked[msg] = true
		}
	})
	defer stop()
	count := func(code int) int { mu.Lock(); defer mu.Unlock(); return codes[code] }
	component.Eventually(t, 10*time.Second, "some requests published before the stop", func() bool { return count(200) >= 500 })
	rs.Stop()
	before := count(200)
	component.Eventually(t, 10*time.Second, "503s during the outage", func() bool { return count(503) >= 50 })
	stop()
	// Stop returned once redis-server exited: only answers already on their
	// way to the 16 clients may be counted after it.
	if extra := count(200) - before; extra > 16 {
		t.Errorf("%d requests answered 200 after Redis stopped", extra)
	}

	// Every acknowledged message reached the subscriber before Redis went.
	received := map[string]bool{}
	for len(received) < len(acked) {
		select {
		case m := <-msgs:
			received[m.Payload] = true
		case <-time.After(5 * time.Second):
			for msg := range acked {
				if !received[msg] {
					t.Fatalf("%q was answered 200 but never received (%d of %d acknowledged received)", msg, len(received), len(acked))
				}
			}
		}
	}
	for msg := range acked {
		if !received[msg] {
			t.Fatalf("%q was answered 200 but never received", msg)
		}
	}
	t.Logf("%d published and received, then %d answered 503 while Redis was stopped", len(acked), count(503))

	rs.Restart()
	after := subscribe()
	var msg string
	component.EventuallyNil(t, 10*time.Second, "the worker publishing again", func() error {
		code, m, err := postStr(ts.Client(), ts.URL, "after")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("answered %d", code)
		}
		msg = m
		return err
	})
	for {
		select {
		case m := <-after:
			if m.Payload == msg {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the message acknowledged after recovery never arrived")
		}
	}
}

// post16 has 16 clients post to the worker at url as fast as it answers,
// each answer passed to seen, until the returned stop is called (which
// waits for them).
func post16(t *testing.T, url string, seen func(code int, msg string)) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				code, msg, err := postStr(client, url, fmt.Sprintf("w%d-%d", w, i))
				if err != nil {
					t.Errorf("POST: %v", err)
					return
				}
				seen(code, msg)
			}
		})
	}
	return sync.OnceFunc(func() { close(done); wg.Wait() })
}

// lines is a concurrency-safe log sink that counts what it was given.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, strings.TrimSpace(string(p)))
	return len(p), nil
}

func (l *lines) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.all[n:])
}

func (l *lines) count() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.all) }

// TestRedisFreezeIsCheap: Redis frozen for 3 s under 16 busy clients (its
// connections open, nothing answered) costs the worker a few new
// connections and a few structured log lines, not one of each per failed
// request; and it serves again by itself once Redis does.
func TestRedisFreezeIsCheap(t *testing.T) {
	rs := redisserver.Start(t)
	sink := &lines{}
	log := slog.New(slog.NewJSONHandler(sink, nil))
	redisconn.SetLogger(log)
	t.Cleanup(func() { redisconn.SetLogger(slog.New(slog.DiscardHandler)) })
	ts := startWorkerLog(t, rs.Addr, "", log)
	admin := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { admin.Close() })
	accepted := func() int {
		t.Helper()
		info, err := admin.Info(context.Background(), "stats").Result()
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`total_connections_received:(\d+)`).FindStringSubmatch(info)
		n, _ := strconv.Atoi(m[1])
		return n
	}

	var ok, failed atomic.Int64
	stop := post16(t, ts.URL, func(code int, _ string) {
		if code == http.StatusOK {
			ok.Add(1)
		} else {
			failed.Add(1)
		}
	})
	defer stop()
	component.Eventually(t, 10*time.Second, "the worker publishing", func() bool { return ok.Load() >= 200 })

	before, logged := accepted(), sink.count()
	rs.Freeze()
	time.Sleep(3 * time.Second) // the stall's length is the fault under test: what it may cost is counted below
	rs.Thaw()
	during := failed.Load()
	served := ok.Load()
	component.Eventually(t, 10*time.Second, "the worker publishing again", func() bool { return ok.Load() >= served+200 })

	dials := accepted() - before - 1 // the INFO just now is on admin's open connection
	newLines := sink.since(logged)
	t.Logf("a 3 s freeze: %d requests failed, %d new connections to Redis, %d log lines", during, dials, len(newLines))
	if during < 16 {
		t.Fatalf("only %d requests failed during the freeze: was Redis frozen?", during)
	}
	// One pipeline at a time, each given up after PUBLISH_TIMEOUT (1 s).
	if dials > 10 {
		t.Errorf("%d new connections to Redis in a 3 s freeze", dials)
	}
	// At most one line a second from the server's failures and one from
	// the Redis client's, each counting what it held back.
	if len(newLines) > 10 {
		t.Errorf("%d log lines in a 3 s freeze:\n%s", len(newLines), strings.Join(newLines, "\n"))
	}
	for _, l := range newLines {
		if !json.Valid([]byte(l)) {
			t.Errorf("an unstructured log line: %s", l)
		}
	}
}

func status(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
