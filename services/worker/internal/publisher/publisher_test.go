package publisher

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/cloudburst-demo/cloudburst/pkg/poll"
	"github.com/cloudburst-demo/cloudburst/testkit/redisserver"
)

// waitQueued waits until n publishes wait in p's queue.
func waitQueued(t *testing.T, p *Redis, n int) {
	t.Helper()
	queued := func() bool { return len(p.queue) >= n }
	if err := poll.Until(t.Context(), 5*time.Second, time.Millisecond, poll.True(fmt.Sprintf("%d publishes queued", n), queued)); err != nil {
		t.Fatalf("%v (%d queued)", err, len(p.queue))
	}
}

// gate is a go-redis hook that holds every pipeline until released, and can
// fail chosen commands after Redis answered them.
type gate struct {
	held    chan struct{} // receives once per pipeline that reached the hook
	release chan struct{} // closed to let pipelines through
	fail    func(i int) error
}

func (g *gate) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (g *gate) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (g *gate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if g.held != nil {
			g.held <- struct{}{}
			<-g.release
		}
		err := next(ctx, cmds)
		if g.fail != nil {
			for i, c := range cmds {
				if e := g.fail(i); e != nil {
					c.SetErr(e)
				}
			}
		}
		return err
	}
}

// setup starts a real redis-server, a subscriber on the channel and a
// publisher whose client carries hook.
func setup(t *testing.T, cfg Config, hook redis.Hook) (*Redis, <-chan *redis.Message, *counts) {
	t.Helper()
	rs := redisserver.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { rdb.Close() })
	if hook != nil {
		rdb.AddHook(hook)
	}
	sub := redis.NewClient(&redis.Options{Addr: rs.Addr}).Subscribe(context.Background(), "calculation")
	t.Cleanup(func() { sub.Close() })
	if _, err := sub.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg.Channel = "calculation"
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	c := &counts{}
	p := NewRedis(rdb, cfg, noop.NewTracerProvider().Tracer(""), c)
	t.Cleanup(p.Close)
	return p, sub.Channel(), c
}

type counts struct {
	mu       sync.Mutex
	batches  []int
	rejected int
}

func (c *counts) Batch(n int) { c.mu.Lock(); c.batches = append(c.batches, n); c.mu.Unlock() }
func (c *counts) Rejected()   { c.mu.Lock(); c.rejected++; c.mu.Unlock() }

// publishAll publishes msgs concurrently and returns each one's result.
func publishAll(p *Redis, msgs []string) []error {
	errs := make([]error, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Go(func() { errs[i] = p.Publish(context.Background(), m) })
	}
	wg.Wait()
	return errs
}

func messages(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// receive collects n messages from the subscription.
func receive(t *testing.T, ch <-chan *redis.Message, n int) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	for range n {
		select {
		case m := <-ch:
			got[m.Payload] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("received %d of %d messages", len(got), n)
		}
	}
	return got
}

// TestQueuedPublishesShareAPipeline: publishes that arrive while a pipeline
// is in flight go out together in the next one, and each is delivered.
func TestQueuedPublishesShareAPipeline(t *testing.T) {
	g := &gate{held: make(chan struct{}, 8), release: make(chan struct{})}
	p, ch, c := setup(t, Config{}, g)
	first := make(chan error, 1)
	go func() { first <- p.Publish(context.Background(), "first") }()
	<-g.held // the first pipeline is in flight, held
	rest := messages("queued", 20)
	done := make(chan []error, 1)
	go func() { done <- publishAll(p, rest) }()
	// Wait until all 20 are queued behind the held pipeline.
	waitQueued(t, p, len(rest))
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, err := range <-done {
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	got := receive(t, ch, 1+len(rest))
	for _, m := range append(rest, "first") {
		if !got[m] {
			t.Fatalf("%q was acknowledged but not received", m)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.batches) != 2 || c.batches[0] != 1 || c.batches[1] != len(rest) {
		t.Fatalf("batches %v, want [1 %d]", c.batches, len(rest))
	}
}

// TestOneFailedCommandFailsOnlyItsPublish: in a pipeline where one command
// fails, that publish gets the error and the others succeed.
func TestOneFailedCommandFailsOnlyItsPublish(t *testing.T) {
	injected := errors.New("injected failure")
	g := &gate{held: make(chan struct{}, 8), release: make(chan struct{}), fail: func(i int) error {
		if i == 2 {
			return injected
		}
		return nil
	}}
	p, _, _ := setup(t, Config{}, g)
	go func() { _ = p.Publish(context.Background(), "opener") }()
	<-g.held
	msgs := messages("batch", 5)
	done := make(chan []error, 1)
	go func() { done <- publishAll(p, msgs) }()
	waitQueued(t, p, len(msgs))
	close(g.release)
	errs := <-done
	failed := 0
	for _, err := range errs {
		switch {
		case errors.Is(err, injected):
			failed++
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if failed != 1 {
		t.Fatalf("%d publishes failed, want exactly the one whose command failed: %v", failed, errs)
	}
}

// TestFullQueueRefusesAtOnce: with the queue full, a publish is refused
// without waiting, and counted.
func TestFullQueueRefusesAtOnce(t *testing.T) {
	g := &gate{held: make(chan struct{}, 8), release: make(chan struct{})}
	p, _, c := setup(t, Config{Queue: 2}, g)
	go func() { _ = p.Publish(context.Background(), "in flight") }()
	<-g.held
	go func() { _ = p.Publish(context.Background(), "queued-1") }()
	go func() { _ = p.Publish(context.Background(), "queued-2") }()
	waitQueued(t, p, 2)
	start := time.Now()
	err := p.Publish(context.Background(), "one too many")
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("publish with the queue full = %v, want ErrQueueFull", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the refusal took %s: it waited", d)
	}
	c.mu.Lock()
	rejected := c.rejected
	c.mu.Unlock()
	if rejected != 1 {
		t.Fatalf("%d rejections counted, want 1", rejected)
	}
	close(g.release)
}

// TestCloseAnswersEveryPendingPublish: closing while a pipeline is in flight
// and publishes are queued sends and answers all of them, nothing hangs, and
// later publishes are refused.
func TestCloseAnswersEveryPendingPublish(t *testing.T) {
	g := &gate{held: make(chan struct{}, 8), release: make(chan struct{})}
	p, _, _ := setup(t, Config{}, g)
	inFlight := make(chan error, 1)
	go func() { inFlight <- p.Publish(context.Background(), "in flight") }()
	<-g.held
	queued := messages("queued", 10)
	done := make(chan []error, 1)
	go func() { done <- publishAll(p, queued) }()
	waitQueued(t, p, len(queued))
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	close(g.release) // the pipeline in flight completes
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung")
	}
	if err := <-inFlight; err != nil {
		t.Fatalf("the publish in flight: %v", err)
	}
	for i, err := range <-done {
		if err != nil {
			t.Fatalf("queued publish %d = %v: queued publishes are sent before Close returns", i, err)
		}
	}
	if err := p.Publish(context.Background(), "after"); !errors.Is(err, ErrClosed) {
		t.Fatalf("publish after Close = %v, want ErrClosed", err)
	}
}

// TestTimeoutAnswersInTime: a publish held longer than the timeout answers
// ErrTimeout within about the timeout.
func TestTimeoutAnswersInTime(t *testing.T) {
	g := &gate{held: make(chan struct{}, 8), release: make(chan struct{})}
	p, _, _ := setup(t, Config{Timeout: 200 * time.Millisecond}, g)
	start := time.Now()
	err := p.Publish(context.Background(), "stuck")
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "200ms") {
		t.Fatalf("publish = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the timeout took %s", d)
	}
	close(g.release)
}
