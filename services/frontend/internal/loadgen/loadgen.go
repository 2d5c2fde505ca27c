// Package loadgen drives the worker at a requested rate: an open-loop
// generator that issues request k at epoch + k/rate whatever the worker's
// latency, with a bound on requests in flight. It is the frontend's single
// source of load: the rate belongs to the process, not to a browser tab.
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/meshapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/slo"
	"github.com/cloudburst-demo/cloudburst/pkg/telemetry"
	"github.com/cloudburst-demo/cloudburst/services/frontend/internal/latency"
)

// ErrInvalidRate is returned by SetRate for a rate outside 0..MaxRPS.
var ErrInvalidRate = errors.New("invalid rate")

// maxCatchUp bounds how far behind schedule the generator will catch up in
// one burst after a stall (GC pause, CPU starvation). Requests further behind
// are counted as dropped rather than fired all at once.
const maxCatchUp = 100 * time.Millisecond

// drainBodyBytes is how much of a response is read so the connection can be
// reused; the worker's answers are far smaller.
const drainBodyBytes = 64 << 10

// Config configures a Generator.
type Config struct {
	URL         string        // the worker, e.g. http://worker:8080/
	MaxRPS      int           // SetRate refuses anything higher
	MaxInFlight int           // requests beyond this are dropped, not queued
	Timeout     time.Duration // per request
	// Log receives a failure's full error, at most once per second; nil
	// logs nothing. The status (and so the page) gets only its class.
	Log *slog.Logger
	// Latency, when not nil, records every request: one answered 200 with
	// its duration and the cluster that served it (from the answer's
	// prefix), a failed one for the cluster the mesh's DestinationHeader
	// names, if any.
	Latency *latency.Window
	// Clusters tells an answer's cluster from its prefix, and which
	// clusters a mesh's header may name.
	Clusters hashmsg.Clusters
}

// Generator sends POST {"str": "<random>"} to the worker at the set rate.
type Generator struct {
	cfg     Config
	client  *http.Client
	rate    atomic.Int64
	changed chan struct{}
	sem     chan struct{}
	wg      sync.WaitGroup

	sent, succeeded, failed, dropped atomic.Uint64
	lastErr                          atomic.Pointer[string]
	logLimit                         telemetry.Limit
	meter                            meter

	listenMu  sync.Mutex
	listeners []func(rps int)
}

// OnRateChange calls fn with the new rate after every accepted SetRate, from
// the caller's goroutine, so whoever shows the rate (every open page) is told
// at once whichever way the change came in.
func (g *Generator) OnRateChange(fn func(rps int)) {
	g.listenMu.Lock()
	defer g.listenMu.Unlock()
	g.listeners = append(g.listeners, fn)
}

// New returns a stopped Generator at rate 0; call Run to start it.
func New(cfg Config) (*Generator, error) {
	switch {
	case cfg.URL == "":
		return nil, errors.New("loadgen: URL is required")
	case cfg.MaxRPS <= 0:
		return nil, fmt.Errorf("loadgen: MaxRPS must be positive, got %d", cfg.MaxRPS)
	case cfg.MaxInFlight <= 0:
		return nil, fmt.Errorf("loadgen: MaxInFlight must be positive, got %d", cfg.MaxInFlight)
	case cfg.Timeout <= 0:
		return nil, fmt.Errorf("loadgen: Timeout must be positive, got %s", cfg.Timeout)
	}
	transport := &http.Transport{
		// The worker is reached directly (or through the mesh sidecar), never
		// through an HTTP proxy from the environment.
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.MaxInFlight,
		MaxIdleConnsPerHost: cfg.MaxInFlight,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Generator{
		logLimit: telemetry.Limit{Every: time.Second},
		cfg:      cfg,
		client:   &http.Client{Transport: otelhttp.NewTransport(transport)},
		changed:  make(chan struct{}, 1),
		sem:      make(chan struct{}, cfg.MaxInFlight),
	}, nil
}

// Rate is the current target rate in requests per second.
func (g *Generator) Rate() int { return int(g.rate.Load()) }

// SetRate changes the target rate; it applies at once. 0 stops the load.
func (g *Generator) SetRate(rps int) error {
	if rps < 0 || rps > g.cfg.MaxRPS {
		return fmt.Errorf("%w: %d requests/s is outside 0 to %d", ErrInvalidRate, rps, g.cfg.MaxRPS)
	}
	g.rate.Store(int64(rps))
	select {
	case g.changed <- struct{}{}:
	default: // a change is already pending; Run reads the latest rate
	}
	g.listenMu.Lock()
	listeners := g.listeners
	g.listenMu.Unlock()
	for _, fn := range listeners {
		fn(rps)
	}
	return nil
}

// Run paces requests until ctx is done, then waits for those in flight.
func (g *Generator) Run(ctx context.Context) error {
	defer g.wg.Wait()
	g.meter.start(time.Now(), g.succeeded.Load(), g.sent.Load())
	measure := time.NewTicker(time.Second)
	defer measure.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	var (
		rate   float64
		epoch  time.Time
		issued int64
		next   time.Time // when the next request is due on the current schedule
	)
	// restart begins a schedule at the new rate. Its first request is due no
	// earlier than the old schedule's next one, so a burst of rate changes
	// (a slider being dragged) never sends faster than asked, and no later
	// than one new interval from now, so a faster rate applies at once.
	restart := func() {
		now := time.Now()
		rate, issued = float64(g.rate.Load()), 0
		epoch = now
		if next.After(now) {
			epoch = next
		}
		if rate > 0 {
			if limit := now.Add(time.Duration(float64(time.Second) / rate)); epoch.After(limit) {
				epoch = limit
			}
		}
		next = epoch
	}
	restart()
	for {
		// A rate change waiting while the timer also fired must win: never
		// send at the old rate after SetRate returned.
		select {
		case <-g.changed:
			restart()
		default:
		}
		var wake <-chan time.Time
		if rate > 0 {
			fire, drop, after := plan(time.Since(epoch), rate, issued)
			g.dropped.Add(uint64(drop))
			for range fire {
				g.fire(ctx)
			}
			issued += fire + drop
			next = epoch.Add(after)
			timer.Reset(time.Until(next))
			wake = timer.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-g.changed:
			restart()
		case now := <-measure.C:
			g.meter.sample(now, g.succeeded.Load(), g.sent.Load())
		case <-wake:
		}
	}
}

// plan is the pacing rule. Request k is due at(k) after the epoch; given
// that issued requests were already fired or dropped and elapsed time has
// passed, it returns how many to fire now, how many to drop because they are
// more than maxCatchUp late, and when (after the epoch) the next one is due.
// What is due is counted with at itself, so a wake-up at the time plan gave
// always finds that request due: the loop never wakes to nothing.
func plan(elapsed time.Duration, rate float64, issued int64) (fire, drop int64, next time.Duration) {
	if elapsed < 0 {
		return 0, 0, 0 // the schedule starts later: request 0 is due at the epoch
	}
	at := func(k int64) time.Duration { return time.Duration(math.Ceil(float64(k) * float64(time.Second) / rate)) }
	due := int64(elapsed.Seconds()*rate) + 1 // requests 0..due-1 are due, up to rounding:
	for at(due) <= elapsed {
		due++
	}
	for due > 0 && at(due-1) > elapsed {
		due--
	}
	fire = due - issued
	if limit := int64(maxCatchUp.Seconds()*rate) + 1; fire > limit {
		drop, fire = fire-limit, limit
	}
	fire = max(fire, 0)
	return fire, drop, at(issued + fire + drop)
}

// fire starts one request if the in-flight bound allows, else counts a drop.
func (g *Generator) fire(ctx context.Context) {
	select {
	case g.sem <- struct{}{}:
	default:
		g.dropped.Add(1)
		return
	}
	g.sent.Add(1)
	g.wg.Go(func() {
		defer func() { <-g.sem }()
		if err := g.send(ctx); err != nil {
			if ctx.Err() != nil {
				// Stopped by Run's caller, not failed by the worker: a
				// shutdown is not reported as the worker's last error.
				return
			}
			if g.cfg.Latency != nil {
				g.recordFailure(err)
			}
			g.failed.Add(1)
			msg := failureClass(err)
			g.lastErr.Store(&msg)
			g.logFailure(err)
			return
		}
		g.succeeded.Add(1)
	})
}

func (g *Generator) send(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.URL, bytes.NewReader(randomBody()))
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("posting to worker: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainBodyBytes))
		return statusError{code: resp.StatusCode, cluster: clusterNamed(g.cfg.Clusters, resp.Header.Get(meshapi.DestinationHeader)), took: time.Since(start)}
	}
	if g.cfg.Latency == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainBodyBytes))
		return nil
	}
	buf := heads.Get().(*[answerHead]byte)
	defer heads.Put(buf)
	n, _ := io.ReadFull(resp.Body, buf[:])
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainBodyBytes))
	took := time.Since(start)
	if c, ok := clusterOf(g.cfg.Clusters, buf[:n]); ok {
		g.cfg.Latency.Record(c, took)
	}
	return nil
}

// clusterNamed is the cluster a mesh's header names ("" for none, or one
// the table does not know: the rows are fixed, whatever a header says).
func clusterNamed(t hashmsg.Clusters, h string) hashmsg.Cluster {
	if c := hashmsg.Cluster(h); t.Knows(c) {
		return c
	}
	return ""
}

// recordFailure counts a request that was not answered 200 as the
// project's service level does (package slo): a 5xx, a timeout or a refused
// connection failed, for the cluster the answer's header named, if any; any
// other answer (a 4xx) was answered, not failed, and is counted with its
// duration.
func (g *Generator) recordFailure(err error) {
	var se statusError
	switch {
	case !errors.As(err, &se):
		g.cfg.Latency.RecordFailed("")
	case slo.FailedStatus(se.code):
		g.cfg.Latency.RecordFailed(se.cluster)
	default:
		g.cfg.Latency.Record(se.cluster, se.took)
	}
}

// answerHead is how much of a worker's answer is read to tell its cluster:
// {"message":"<prefix><44 characters of hash>"} with a prefix of up to 64.
const answerHead = 128

// heads are the buffers answers are read into, so no request allocates one.
var heads = sync.Pool{New: func() any { return new([answerHead]byte) }}

// messageField starts every 200 answer of the worker.
var messageField = []byte(`{"message":"`)

// clusterOf tells which cluster answered from the head of the worker's
// answer; false when it is not a worker's answer.
func clusterOf(t hashmsg.Clusters, head []byte) (hashmsg.Cluster, bool) {
	msg, ok := bytes.CutPrefix(head, messageField)
	if !ok {
		return "", false
	}
	end := bytes.IndexByte(msg, '"')
	if end < 0 {
		return "", false
	}
	c, err := t.ClusterOf(msg[:end])
	return c, err == nil
}

// Why a request failed, as the page is told: a class, never an address.
const (
	failedTimeout     = "the worker did not answer in time"
	failedRefused     = "the worker refused the connection"
	failedUnreachable = "the worker could not be reached"
)

// statusError is a worker's answer other than 200, and the cluster the
// mesh said answered it ("" when none did).
type statusError struct {
	code    int
	cluster hashmsg.Cluster
	took    time.Duration
}

func (e statusError) Error() string {
	return fmt.Sprintf("the worker answered %d %s", e.code, http.StatusText(e.code))
}

// failureClass reduces a failed request's error to what the page may show:
// the internal address and the transport's wording stay in the log.
func failureClass(err error) string {
	var se statusError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		return se.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return failedTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return failedRefused
	}
	return failedUnreachable
}

// logFailure logs err at most once a second: a worker that fails every
// request costs one line a second, which counts the others.
func (g *Generator) logFailure(err error) {
	if g.cfg.Log == nil {
		return
	}
	if ok, held := g.logLimit.Allow(); ok {
		g.cfg.Log.Warn("request to the worker failed", "url", g.cfg.URL, "err", err, "failed", g.failed.Load(), "heldBack", held)
	}
}

// randomBody returns {"str":"<13 base-36 digits>"}, like the codelab's random
// strings. math/rand/v2's global source is safe for concurrent use and fast.
func randomBody() []byte {
	b := make([]byte, 0, 32)
	b = append(b, `{"str":"`...)
	b = strconv.AppendUint(b, rand.Uint64(), 36)
	return append(b, `"}`...)
}
