package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/prescale"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

type fakeSource struct {
	rps float64
	err error
}

func (f *fakeSource) Rate(context.Context) (float64, error) { return f.rps, f.err }

type fakeRouter struct {
	mu     sync.Mutex
	cur    split.Split
	getErr error
	setErr error
	sets   int
}

func (f *fakeRouter) Get(context.Context) (split.Split, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur, f.getErr
}

func (f *fakeRouter) Set(_ context.Context, s split.Split) (split.Split, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.setErr != nil {
		return f.cur, f.setErr
	}
	old := f.cur
	if old != s || f.getErr != nil {
		f.sets++
	}
	f.cur, f.getErr = s, nil
	return old, nil
}

type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) Event(kind, reason, msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, kind+" "+reason+": "+msg)
}

func (e *events) reasons() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var r []string
	for _, s := range e.list {
		r = append(r, strings.SplitN(s, ":", 2)[0])
	}
	return strings.Join(r, ", ")
}

type rig struct {
	c   *Controller
	src *fakeSource
	rt  *fakeRouter
	ev  *events
	reg *prometheus.Registry
	now time.Time
}

func newRig(t *testing.T, dryRun bool, start split.Split) *rig {
	t.Helper()
	pol, err := policy.New(policy.Config{
		Strategy: policy.Switch, HighRPS: 15, LowRPS: 10, MinDwell: 5 * time.Second,
		FailureThreshold: 3, FailSafe: policy.FailSafePrimary,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{src: &fakeSource{}, rt: &fakeRouter{cur: start}, ev: &events{}, reg: prometheus.NewRegistry(), now: time.Unix(1_700_000_000, 0)}
	r.c = New(Config{Source: r.src, Router: r.rt, Policy: pol, Events: r.ev, Metrics: NewMetrics(r.reg),
		Interval: time.Second, DryRun: dryRun, Log: slog.New(slog.DiscardHandler)})
	r.c.now = func() time.Time { return r.now }
	if err := r.c.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// at measures rps (or err) one second after the previous tick.
func (r *rig) at(rps float64, err error) {
	r.now = r.now.Add(time.Second)
	r.src.rps, r.src.err = rps, err
	r.c.Tick(context.Background())
	r.c.waitReports()
}

func TestMovesWeightsAndReports(t *testing.T) {
	r := newRig(t, false, split.AllPrimary)
	r.at(12, nil)
	if r.rt.sets != 0 {
		t.Fatal("wrote inside the band")
	}
	r.at(30, nil)
	if r.rt.cur != split.AllBurst || r.rt.sets != 1 {
		t.Fatalf("after 30 req/s: %v (%d writes)", r.rt.cur, r.rt.sets)
	}
	for range 4 {
		r.at(2, nil) // within MIN_DWELL: holds
	}
	if r.rt.cur != split.AllBurst {
		t.Fatal("changed within MIN_DWELL")
	}
	r.at(2, nil)
	if r.rt.cur != split.AllPrimary || r.rt.sets != 2 {
		t.Fatalf("after the dwell: %v (%d writes)", r.rt.cur, r.rt.sets)
	}
	if got := r.ev.reasons(); got != "Normal WeightsChanged, Normal WeightsChanged" {
		t.Fatalf("events: %s", got)
	}
	if !strings.Contains(r.ev.list[0], "primary 100 / burst 0 -> primary 0 / burst 100: 30.0 req/s above the high threshold 15") {
		t.Fatalf("event message: %s", r.ev.list[0])
	}
	ch := r.c.Changes()
	if len(ch) != 2 || ch[0].To != split.AllBurst || ch[0].RPS == nil || *ch[0].RPS != 30 || ch[1].Kind != "WeightsChanged" {
		t.Fatalf("history: %+v", ch)
	}
	if got := testutil.ToFloat64(r.c.cfg.Metrics.changes); got != 2 {
		t.Fatalf("burster_changes_total = %v", got)
	}
	if got := testutil.ToFloat64(r.c.cfg.Metrics.weight.WithLabelValues("primary")); got != 100 {
		t.Fatalf("burster_weight{primary} = %v", got)
	}
}

func TestDryRunNeverWrites(t *testing.T) {
	r := newRig(t, true, split.AllPrimary)
	r.at(30, nil)
	r.c.correct(context.Background(), observed{split: split.WithBurst(50)})
	if r.rt.sets != 0 {
		t.Fatalf("dry run wrote %d times", r.rt.sets)
	}
	if got := r.ev.reasons(); got != "Normal DryRun" || !strings.Contains(r.ev.list[0], "would change") {
		t.Fatalf("events: %v", r.ev.list)
	}
}

func TestFailedWriteIsRetried(t *testing.T) {
	r := newRig(t, false, split.AllPrimary)
	r.rt.setErr = fmt.Errorf("updating VirtualService ns/worker: %w", &net.OpError{Op: "dial", Net: "tcp",
		Addr: &net.TCPAddr{IP: net.IPv4(10, 9, 8, 7), Port: 443}, Err: errors.New("connection refused")})
	r.at(30, nil)
	if r.rt.cur != split.AllPrimary || !strings.Contains(r.ev.reasons(), "Warning UpdateFailed") {
		t.Fatalf("after a failed write: %v, events %s", r.rt.cur, r.ev.reasons())
	}
	// Told the one way: the history too, with the failure's class, not its address.
	ch := r.c.Changes()
	if last := ch[len(ch)-1]; last.Kind != "UpdateFailed" || last.To != split.AllPrimary ||
		!strings.HasSuffix(last.Reason, ": unreachable") || strings.Contains(last.Reason, "10.9.8.7") {
		t.Fatalf("history after a failed write: %+v", last)
	}
	r.rt.setErr = nil
	r.at(30, nil)
	if r.rt.cur != split.AllBurst {
		t.Fatalf("the next tick did not retry: %v", r.rt.cur)
	}
}

func TestNoDataHoldsThenFailSafe(t *testing.T) {
	r := newRig(t, false, split.AllBurst)
	noData := fmt.Errorf("%w: query returned no series", source.ErrNoData)
	r.at(0, noData)
	r.at(0, errors.New("connection refused"))
	if r.rt.cur != split.AllBurst || r.rt.sets != 0 {
		t.Fatalf("failed measurements moved the weights: %v", r.rt.cur)
	}
	r.at(0, noData) // the third: FAIL_SAFE=primary
	r.at(0, noData)
	if r.rt.cur != split.AllPrimary || r.rt.sets != 1 {
		t.Fatalf("fail-safe: %v after %d writes", r.rt.cur, r.rt.sets)
	}
	if got := r.ev.reasons(); got != "Warning FailSafe" {
		t.Fatalf("events: %s (want exactly one FailSafe)", got)
	}
	errs := testutil.ToFloat64(r.c.cfg.Metrics.queryErrors.WithLabelValues("error"))
	nodata := testutil.ToFloat64(r.c.cfg.Metrics.queryErrors.WithLabelValues("no_data"))
	if errs != 1 || nodata != 3 {
		t.Fatalf("burster_query_errors_total error=%v no_data=%v", errs, nodata)
	}
}

func TestDriftIsCorrected(t *testing.T) {
	r := newRig(t, false, split.AllPrimary)
	r.at(30, nil) // decided: all burst
	r.rt.cur = split.WithBurst(50)
	r.c.correct(context.Background(), observed{split: split.WithBurst(50)})
	if r.rt.cur != split.AllBurst || !strings.Contains(r.ev.reasons(), "Warning DriftCorrected") {
		t.Fatalf("after drift: %v, events %s", r.rt.cur, r.ev.reasons())
	}
	// Our own write coming back through the watch is not drift.
	n := len(r.ev.list)
	r.c.correct(context.Background(), observed{split: split.AllBurst})
	if len(r.ev.list) != n {
		t.Fatalf("own write reported as drift: %v", r.ev.list)
	}
	if got := testutil.ToFloat64(r.c.cfg.Metrics.corrections); got != 1 {
		t.Fatalf("burster_drift_corrections_total = %v", got)
	}
}

// runLoop runs a controller on rt with a 1 s interval until the test ends.
// Call it inside a synctest bubble: the loop's clock is the bubble's.
func runLoop(t *testing.T, rt router.Router) (*Controller, *events) {
	t.Helper()
	pol, _ := policy.New(policy.Config{Strategy: policy.Switch, HighRPS: 15, LowRPS: 10, FailureThreshold: 3, FailSafe: policy.FailSafeHold})
	ev := &events{}
	c := New(Config{Source: &fakeSource{rps: 1}, Router: rt, Policy: pol, Events: ev, Metrics: NewMetrics(prometheus.NewRegistry()),
		Interval: time.Second, Log: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return c, ev
}

// drift changes the weights behind the burster's back, without a word to
// any watch, and reports whether they were put back within two intervals.
// Call it in a synctest bubble: its sleep is two intervals of the bubble's
// clock, no real time.
func drift(rt *fakeRouter) bool {
	rt.mu.Lock()
	rt.cur = split.WithBurst(50) // someone else, e.g. PUT /weights by hand
	rt.mu.Unlock()
	time.Sleep(2 * time.Second)
	synctest.Wait()
	got, _ := rt.Get(context.Background())
	return got == split.AllPrimary
}

// TestDriftFoundWithoutAWatch: a router that cannot watch (the local mesh's)
// is read back every interval, so a change made behind the burster's back
// is found and put back all the same.
func TestDriftFoundWithoutAWatch(t *testing.T) {
	// Inside the bubble, time.Sleep moves the bubble's clock and waits no
	// real time; synctest.Wait waits until every goroutine in it is blocked.
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRouter{cur: split.AllPrimary}
		c, ev := runLoop(t, rt)
		time.Sleep(3 * time.Second) // three ticks on the weights it found
		if !drift(rt) {
			t.Fatal("drift without a watch was not put back within two intervals")
		}
		if testutil.ToFloat64(c.cfg.Metrics.corrections) != 1 || !strings.Contains(ev.reasons(), "Warning DriftCorrected") {
			t.Fatalf("corrections %v, events %s", testutil.ToFloat64(c.cfg.Metrics.corrections), ev.reasons())
		}
	})
}

// watchingRouter is a fakeRouter with a watch the test drives: report
// sends what the watch would, and ends makes every Watch return at once.
type watchingRouter struct {
	*fakeRouter
	mu       sync.Mutex
	onChange func(split.Split, error)
	ends     bool
	watches  int
}

func (w *watchingRouter) Watch(ctx context.Context, onChange func(split.Split, error)) error {
	w.mu.Lock()
	w.watches++
	w.onChange = onChange
	ends := w.ends
	w.mu.Unlock()
	if ends {
		return errors.New("the API server closed the watch")
	}
	<-ctx.Done()
	return nil
}

func (w *watchingRouter) report(s split.Split, err error) {
	w.mu.Lock()
	f := w.onChange
	w.mu.Unlock()
	f(s, err)
}

// TestDriftFoundWhileTheWatchIsDown: while the watch reports, drift comes
// through it; while it is down, or after it ended, the routes are read back
// every interval, so drift is still put back within two intervals; an
// ended watch is started again, less and less often.
func TestDriftFoundWhileTheWatchIsDown(t *testing.T) {
	t.Run("reports failure", func(t *testing.T) {
		// Inside the bubble, time.Sleep moves the bubble's clock and waits no
		// real time; synctest.Wait waits until every goroutine in it is blocked.
		synctest.Test(t, func(t *testing.T) {
			rt := &watchingRouter{fakeRouter: &fakeRouter{cur: split.AllPrimary}}
			runLoop(t, rt)
			synctest.Wait()
			rt.report(split.AllPrimary, nil) // the informer's first list
			time.Sleep(3 * time.Second)
			if drift(rt.fakeRouter) {
				t.Fatal("with the watch up, the routes were read back: the watch is the one to tell")
			}
			rt.report(split.Split{}, fmt.Errorf("%w: connection refused", router.ErrWatchDown))
			synctest.Wait()
			if !drift(rt.fakeRouter) {
				t.Fatal("with the watch down, drift was not put back within two intervals")
			}
		})
	})
	t.Run("ends", func(t *testing.T) {
		// Inside the bubble, time.Sleep moves the bubble's clock and waits no
		// real time; synctest.Wait waits until every goroutine in it is blocked.
		synctest.Test(t, func(t *testing.T) {
			rt := &watchingRouter{fakeRouter: &fakeRouter{cur: split.AllPrimary}, ends: true}
			runLoop(t, rt)
			time.Sleep(3 * time.Second)
			if !drift(rt.fakeRouter) {
				t.Fatal("with the watch ended, drift was not put back within two intervals")
			}
			time.Sleep(57 * time.Second) // 62 s since the start
			synctest.Wait()
			rt.mu.Lock()
			n := rt.watches
			rt.mu.Unlock()
			// Waits of 1, 2, 4, 8, 16 and 30 s: started at 0, 1, 3, 7, 15, 31 and 61 s.
			if n != 7 {
				t.Fatalf("the watch was started %d times in 62 s, want 7 (backoff from 1 s, doubling, at most 30 s)", n)
			}
		})
	})
}

// TestReasonsNameNoAddress: a failed measurement's detail (the source's
// address) stays out of the reasons that reach events, the status and the
// page; they say what kind of failure it was.
func TestReasonsNameNoAddress(t *testing.T) {
	r := newRig(t, false, split.AllBurst)
	detail := fmt.Errorf("querying http://10.9.8.7:9090/api/v1/query: connection refused")
	for range 3 { // FailureThreshold: the fail-safe
		r.at(0, detail)
	}
	r.at(0, fmt.Errorf("%w: empty result from http://10.9.8.7:9090", source.ErrNoData))
	changes := r.c.Changes()
	if len(changes) == 0 {
		t.Fatal("no fail-safe entry in the history")
	}
	all := r.ev.reasons() + fmt.Sprint(r.ev.list)
	for _, ch := range changes {
		all += ch.Reason
	}
	if strings.Contains(all, "10.9.8.7") || !strings.Contains(all, source.ErrFailed.Error()) {
		t.Fatalf("reasons: %s", all)
	}
}

func TestStartRepairsInvalidWeights(t *testing.T) {
	rt := &fakeRouter{cur: split.Two(50, 40), getErr: fmt.Errorf("%w: bad sum", router.ErrInconsistent)}
	pol, _ := policy.New(policy.Config{Strategy: policy.Switch, HighRPS: 15, LowRPS: 10, FailureThreshold: 1, FailSafe: policy.FailSafeHold})
	c := New(Config{Source: &fakeSource{}, Router: rt, Policy: pol, Metrics: NewMetrics(prometheus.NewRegistry()),
		Interval: time.Second, Log: slog.New(slog.DiscardHandler)})
	if err := c.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rt.cur != split.AllPrimary {
		t.Fatalf("invalid weights left as %v", rt.cur)
	}
}

type fakeDestinations struct {
	d   source.Destinations
	err error
}

func (f *fakeDestinations) Destinations(context.Context) (source.Destinations, error) {
	return f.d, f.err
}

// TestFailingDestinationIsReported: a destination answering (mostly) errors
// shows as failing in the snapshot, with one warning event when it starts
// and one normal event when it recovers; an unmeasured tick shows nothing
// rather than stale health. The weights are the policy's alone.
func TestFailingDestinationIsReported(t *testing.T) {
	r := newRig(t, false, split.AllPrimary)
	fd := &fakeDestinations{}
	r.c.cfg.Destinations = fd
	steps := []struct {
		name         string
		d            source.Destinations
		err          error
		wantFailing  [2]bool
		wantMeasured bool
		wantEvents   string
	}{
		{"healthy", source.Destinations{Primary: source.Traffic{RPS: 30}}, nil, [2]bool{}, true, "Normal WeightsChanged"},
		{"burst answers only errors", source.Destinations{Burst: source.Traffic{RPS: 30, FailedRPS: 30}}, nil,
			[2]bool{false, true}, true, "Normal WeightsChanged, Warning DestinationFailing"},
		{"still failing: no second event", source.Destinations{Burst: source.Traffic{RPS: 30, FailedRPS: 15}}, nil,
			[2]bool{false, true}, true, "Normal WeightsChanged, Warning DestinationFailing"},
		{"not measured", source.Destinations{}, errors.New("scrape failed"), [2]bool{false, true}, false,
			"Normal WeightsChanged, Warning DestinationFailing"},
		{"a few errors are not failing", source.Destinations{Burst: source.Traffic{RPS: 30, FailedRPS: 14}}, nil,
			[2]bool{}, true, "Normal WeightsChanged, Warning DestinationFailing, Normal DestinationRecovered"},
		{"no traffic is not failing", source.Destinations{}, nil, [2]bool{}, true,
			"Normal WeightsChanged, Warning DestinationFailing, Normal DestinationRecovered"},
	}
	for _, st := range steps {
		fd.d, fd.err = st.d, st.err
		r.at(30, nil)
		snap := r.c.Snapshot()
		if (snap.Destinations != nil) != st.wantMeasured {
			t.Fatalf("%s: destinations %+v, want measured=%v", st.name, snap.Destinations, st.wantMeasured)
		}
		if snap.Destinations != nil {
			if got := [2]bool{snap.Destinations.Primary.Failing, snap.Destinations.Burst.Failing}; got != st.wantFailing {
				t.Fatalf("%s: failing %v, want %v", st.name, got, st.wantFailing)
			}
			if snap.Destinations.Burst.RPS != st.d.Burst.RPS || snap.Destinations.Burst.FailedRPS != st.d.Burst.FailedRPS {
				t.Fatalf("%s: burst %+v, want %+v", st.name, snap.Destinations.Burst, st.d.Burst)
			}
		}
		if got := r.ev.reasons(); got != st.wantEvents {
			t.Fatalf("%s: events %s, want %s", st.name, got, st.wantEvents)
		}
	}
	if r.rt.cur != split.AllBurst || r.rt.sets != 1 {
		t.Fatalf("destination health moved the weights: %v after %d writes", r.rt.cur, r.rt.sets)
	}
	ch := r.c.Changes()
	if last := ch[len(ch)-1]; last.Kind != "DestinationRecovered" || last.From != split.AllBurst || last.To != split.AllBurst ||
		!strings.Contains(last.Reason, "burst recovered: 14.0 of 30.0 req/s failed") {
		t.Fatalf("history's last entry: %+v", last)
	}
	if !strings.Contains(r.ev.list[1], "burst is failing: 30.0 of 30.0 req/s failed") {
		t.Fatalf("failing event: %s", r.ev.list[1])
	}
	if got := testutil.ToFloat64(r.c.cfg.Metrics.destFailed.WithLabelValues("burst")); got != 0 {
		t.Fatalf("burster_destination_failed_rps{burst} = %v", got)
	}
}

type fakeCapacity struct {
	rps   float64
	ready int
	err   error
}

func (f *fakeCapacity) Capacity() (float64, int, error) { return f.rps, f.ready, f.err }

// TestLiveCapacity: spillover keeps primary's live capacity; while it is
// unknown the weights hold, as for a failed measurement, and the status
// shows no capacity rather than zero.
func TestLiveCapacity(t *testing.T) {
	pol, err := policy.New(policy.Config{Strategy: policy.Spillover, Step: 10, CapacityRPS: 15, FailureThreshold: 3, FailSafe: policy.FailSafeHold})
	if err != nil {
		t.Fatal(err)
	}
	rt, capa := &fakeRouter{cur: split.AllPrimary}, &fakeCapacity{err: errors.New("not synced")}
	src := &fakeSource{rps: 50}
	c := New(Config{Source: src, Router: rt, Policy: pol, Capacity: capa, Metrics: NewMetrics(prometheus.NewRegistry()),
		Interval: time.Second, Log: slog.New(slog.DiscardHandler)})
	if err := c.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.Tick(context.Background())
	if rt.cur != split.AllPrimary || c.Snapshot().Capacity != nil {
		t.Fatalf("unknown capacity: weights %v, capacity %+v", rt.cur, c.Snapshot().Capacity)
	}
	capa.rps, capa.ready, capa.err = 30, 3, nil
	c.Tick(context.Background())
	if rt.cur != split.WithBurst(40) {
		t.Fatalf("50 req/s over a live capacity of 30: %v, want 40%% burst", rt.cur)
	}
	if got := c.Snapshot().Capacity; got == nil || got.RPS != 30 || got.ReadyEndpoints != 3 {
		t.Fatalf("snapshot capacity %+v", got)
	}
	if got := testutil.ToFloat64(c.cfg.Metrics.capReady); got != 3 {
		t.Fatalf("burster_primary_ready_endpoints = %v", got)
	}
}

type fakeScaler struct {
	st      prescale.State
	raises  int
	restore int
}

func (f *fakeScaler) Name() string                                 { return "worker" }
func (f *fakeScaler) Read(context.Context) (prescale.State, error) { return f.st, nil }
func (f *fakeScaler) Raise(_ context.Context, want int32) (prescale.State, prescale.State, error) {
	before := f.st
	if to := min(want, f.st.MaxReplicas); to > f.st.MinReplicas {
		if f.st.Original == nil {
			orig := f.st.MinReplicas
			f.st.Original = &orig
		}
		f.st.MinReplicas = to
		f.raises++
	}
	return before, f.st, nil
}
func (f *fakeScaler) Restore(context.Context) (prescale.State, prescale.State, error) {
	before := f.st
	if f.st.Original != nil {
		f.st.MinReplicas, f.st.Original = *f.st.Original, nil
		f.restore++
	}
	return before, f.st, nil
}

type fakeBurst struct{ ready int }

func (f *fakeBurst) Ready(context.Context) (int, error) { return f.ready, nil }

// TestPrescaleWaitIsBounded: the first shift waits for the raised workers,
// but no longer than the wait; raises stop at maxReplicas; a dry run
// raises nothing.
func TestPrescaleWaitIsBounded(t *testing.T) {
	for _, dry := range []bool{false, true} {
		r := newRig(t, dry, split.AllPrimary)
		sc := &fakeScaler{st: prescale.State{MinReplicas: 1, MaxReplicas: 4}}
		r.c.cfg.Burst = &fakeBurst{ready: 1}
		r.c.cfg.Prescale = &Prescale{Scaler: sc, WarmRPS: 8, HighRPS: 15, PerEndpointRPS: 5, Cooldown: time.Minute, Wait: 3 * time.Second}
		r.at(50, nil) // ceil(50/5) = 10, capped at 4
		if dry {
			if sc.raises != 0 || !strings.Contains(r.ev.reasons(), "Normal DryRun") {
				t.Fatalf("dry run: %d raises, events %s (want no raise, and the decision as without pre-scaling)", sc.raises, r.ev.reasons())
			}
			continue
		}
		if sc.st.MinReplicas != 4 || r.rt.cur != split.AllPrimary {
			t.Fatalf("after the raise: minReplicas %d, weights %v", sc.st.MinReplicas, r.rt.cur)
		}
		r.at(50, nil)
		r.at(50, nil) // 2 s after the raise: still waiting
		if r.rt.cur != split.AllPrimary {
			t.Fatalf("shifted within the wait with 1 of 4 ready: %v", r.rt.cur)
		}
		r.at(50, nil) // 3 s: the wait is over; one ready worker is enough
		if r.rt.cur != split.AllBurst || sc.raises != 1 {
			t.Fatalf("after the wait: weights %v, %d raises", r.rt.cur, sc.raises)
		}
	}
}

// TestNewTermStartsFromTheWorld: a replica that raised the burst HPA, lost
// the lease, and leads again after another replica restored the HPA, does
// not believe its own memory: it reads the HPA anew, raises it again and
// waits for the workers before it shifts.
func TestNewTermStartsFromTheWorld(t *testing.T) {
	r := newRig(t, false, split.AllPrimary)
	sc := &fakeScaler{st: prescale.State{MinReplicas: 1, MaxReplicas: 4}}
	r.c.cfg.Burst = &fakeBurst{ready: 1}
	r.c.cfg.Prescale = &Prescale{Scaler: sc, WarmRPS: 8, HighRPS: 15, PerEndpointRPS: 10, Cooldown: time.Minute, Wait: 3 * time.Second}
	r.at(12, nil) // warm: ceil(15/10) = 2 workers
	if sc.st.MinReplicas != 2 || sc.raises != 1 {
		t.Fatalf("term 1: minReplicas %d after %d raises", sc.st.MinReplicas, sc.raises)
	}

	// The term ends; the next leader cools down and restores the HPA.
	if _, _, err := sc.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.now = r.now.Add(time.Minute)
	if err := r.c.start(context.Background()); err != nil { // what Run does as a term starts
		t.Fatal(err)
	}
	r.at(16, nil) // above HIGH_RPS: ceil(16/10) = 2 workers, as in term 1
	if sc.raises != 2 || sc.st.MinReplicas != 2 {
		t.Fatalf("term 2: %d raises, minReplicas %d; want the HPA raised again", sc.raises, sc.st.MinReplicas)
	}
	if r.rt.cur != split.AllPrimary {
		t.Fatalf("term 2 shifted to %v with 1 of 2 workers ready, before the wait", r.rt.cur)
	}
	if got := testutil.ToFloat64(r.c.cfg.Metrics.prescaled); got != 2 {
		t.Fatalf("burster_burst_prescaled_min_replicas = %v", got)
	}
}

type fakeLatency struct {
	w   policy.SLIs
	err error
}

func (f *fakeLatency) Windows(context.Context) (policy.SLIs, error) { return f.w, f.err }

// TestSLO: under the slo strategy the controller hands the latency window
// to the policy, and the status, the history and the metrics carry primary's
// SLI and burn; no data holds without counting towards the fail-safe; a
// histogram without the objective's bucket holds and says so, and does.
func TestSLO(t *testing.T) {
	pol, err := policy.New(policy.Config{
		Strategy: policy.SLO, MinDwell: 5 * time.Second, FailureThreshold: 3, FailSafe: policy.FailSafePrimary,
		SLOLatency: 250 * time.Millisecond, SLOTarget: 0.99, SLOWindow: 5 * time.Second, SLOMinRequests: 20, SLOHeadroom: 0.05,
	})
	if err != nil {
		t.Fatal(err)
	}
	lat := &fakeLatency{}
	r := &rig{src: &fakeSource{}, rt: &fakeRouter{cur: split.AllPrimary}, ev: &events{}, reg: prometheus.NewRegistry(), now: time.Unix(1_700_000_000, 0)}
	objective := &SLO{LatencyMS: 250, Target: 0.99, WindowSeconds: 5}
	r.c = New(Config{Source: r.src, Latency: lat, SLO: objective, Router: r.rt, Policy: pol, Events: r.ev,
		Metrics: NewMetrics(r.reg), Interval: time.Second, Log: slog.New(slog.DiscardHandler)})
	r.c.now = func() time.Time { return r.now }
	if err := r.c.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := r.c.Snapshot().SLO; s == nil || s.LatencyMS != 250 || s.Primary != nil {
		t.Fatalf("status before a measurement: %+v", s)
	}

	// No data for longer than the failure threshold: held, no fail-safe.
	lat.err = fmt.Errorf("%w: the window is filling", source.ErrNoData)
	for range 5 {
		r.at(40, nil)
	}
	if s := r.c.Snapshot().SLO; r.rt.sets != 0 || len(r.c.Changes()) != 0 || s.Problem != source.ErrNoData.Error() {
		t.Fatalf("no data: %d writes, changes %+v, status %+v", r.rt.sets, r.c.Changes(), s)
	}

	// Primary over its objective (not queueing: slow answers): burst's
	// share sized to what primary served less the headroom, with its SLI
	// and burn.
	lat.err, lat.w = nil, policy.SLIs{Primary: policy.Window{Requests: 200, Good: 180, Served: 200}}
	r.at(40, nil)
	ch := r.c.Changes()
	if r.rt.cur != split.WithBurst(5) || len(ch) != 1 || ch[0].SLI == nil || *ch[0].SLI != 0.9 || ch[0].Burn == nil || math.Abs(*ch[0].Burn-10) > 1e-9 {
		t.Fatalf("breach: weights %v, history %+v", r.rt.cur, ch)
	}
	s := r.c.Snapshot().SLO
	if s.Problem != "" || s.Primary == nil || *s.Primary.SLI != 0.9 || s.Burst == nil || s.Burst.SLI != nil {
		t.Fatalf("status after a breach: %+v", s)
	}
	if got := testutil.ToFloat64(r.c.cfg.Metrics.burn.WithLabelValues("primary")); math.Abs(got-10) > 1e-9 {
		t.Fatalf("burster_slo_burn_rate{primary} = %v", got)
	}
	if got := testutil.ToFloat64(r.c.cfg.Metrics.sli.WithLabelValues("burst")); !math.IsNaN(got) {
		t.Fatalf("burster_slo_sli{burst} = %v, want NaN (not judged)", got)
	}

	// A histogram without the objective's bucket: a failed measurement,
	// held, and after three the fail-safe sends everything back.
	lat.err = fmt.Errorf("%w: no series has le=250", source.ErrNoBucket)
	r.at(40, nil)
	if last := r.c.Changes(); r.rt.cur != split.WithBurst(5) || r.c.Snapshot().SLO.Problem != source.ErrNoBucket.Error() || len(last) != 1 {
		t.Fatalf("no bucket: weights %v, status %+v", r.rt.cur, r.c.Snapshot().SLO)
	}
	r.at(40, nil)
	r.at(40, nil)
	last := r.c.Changes()[len(r.c.Changes())-1]
	if r.rt.cur != split.AllPrimary || last.Kind != v1alpha1.ChangeFailSafe || !strings.Contains(last.Reason, "no bucket at the objective") {
		t.Fatalf("no bucket, three times: weights %v, last change %+v", r.rt.cur, last)
	}
}

type fakeBudget struct {
	b   source.Budget
	err error
}

func (f *fakeBudget) Budget(context.Context) (source.Budget, error) { return f.b, f.err }

type fakeSecurity struct{ s source.Security }

func (f *fakeSecurity) Security(context.Context) (source.Security, error) { return f.s, nil }

// TestSLOMeasuredUnderSwitch: under another strategy the service level is
// measured for the status only: primary's SLI and burn, each destination's
// error budget and how its requests travel are shown, and a latency that
// cannot be measured never counts as a failed measurement.
func TestSLOMeasuredUnderSwitch(t *testing.T) {
	pol, err := policy.New(policy.Config{
		Strategy: policy.Switch, HighRPS: 15, LowRPS: 10, MinDwell: 5 * time.Second, FailureThreshold: 2, FailSafe: policy.FailSafePrimary,
		SLOLatency: 250 * time.Millisecond, SLOTarget: 0.99, SLOWindow: 5 * time.Second, SLOMinRequests: 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	left := 0.4
	lat := &fakeLatency{w: policy.SLIs{Primary: policy.Window{Requests: 100, Good: 99}, Burst: policy.Window{Requests: 50, Good: 25}}}
	budget := &fakeBudget{b: source.Budget{Period: "3d", Primary: source.BudgetOf{Burns: []source.Burn{{Window: "5m", Rate: 0.5}}, Left: &left}}}
	r := &rig{src: &fakeSource{}, rt: &fakeRouter{cur: split.AllBurst}, ev: &events{}, reg: prometheus.NewRegistry(), now: time.Unix(1_700_000_000, 0)}
	r.c = New(Config{Source: r.src, Latency: lat, SLO: &SLO{LatencyMS: 250, Target: 0.99, WindowSeconds: 5},
		Budget: budget, Security: &fakeSecurity{source.Security{Primary: "mutual_tls", Burst: "mutual_tls"}},
		Router: r.rt, Policy: pol, Events: r.ev, Metrics: NewMetrics(r.reg), Interval: time.Second, Log: slog.New(slog.DiscardHandler)})
	r.c.now = func() time.Time { return r.now }
	if err := r.c.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.at(30, nil)
	snap := r.c.Snapshot()
	s := snap.SLO
	if s == nil || s.Primary == nil || s.Primary.SLI == nil || *s.Primary.SLI != 0.99 || s.Burst == nil || s.Burst.Burn == nil || math.Abs(*s.Burst.Burn-50) > 1e-9 {
		t.Fatalf("the SLO status under switch: %+v", s)
	}
	if s.Budget == nil || s.Budget.Period != "3d" || s.Budget.Primary.Left == nil || *s.Budget.Primary.Left != 0.4 ||
		len(s.Budget.Primary.Burns) != 1 || s.Budget.Primary.Burns[0].Window != "5m" {
		t.Fatalf("the budget: %+v", s.Budget)
	}
	if snap.Security == nil || snap.Security.Burst != "mutual_tls" {
		t.Fatalf("the security: %+v", snap.Security)
	}
	if len(r.c.Changes()) != 0 {
		t.Fatalf("switch at 30 req/s with burst already all: %+v", r.c.Changes())
	}
	// A histogram without the bucket, and a budget that cannot be read:
	// said in the status, never a failed measurement (FAILURE_THRESHOLD 2).
	lat.err = fmt.Errorf("%w: no le=250", source.ErrNoBucket)
	budget.err = fmt.Errorf("%w: no rules", source.ErrNoData)
	for range 4 {
		r.at(30, nil)
	}
	s = r.c.Snapshot().SLO
	if r.rt.cur != split.AllBurst || len(r.c.Changes()) != 0 || s.Problem != source.ErrNoBucket.Error() || s.BudgetProblem != source.ErrNoData.Error() {
		t.Fatalf("a latency that cannot be measured under switch: weights %v, changes %+v, status %+v", r.rt.cur, r.c.Changes(), s)
	}
}

type fakeReadiness struct {
	n   int
	err error
}

func (f *fakeReadiness) Ready(context.Context) (int, error) { return f.n, f.err }

// TestThreeDestinations: under spillover the controller reads each
// destination after home, fills them in order by their capacities, reports
// each one's readiness in the snapshot and the metrics, tells once that a
// destination is kept off and once that it is ready again, and logs a
// destination it cannot read when that starts and ends, not each interval.
func TestThreeDestinations(t *testing.T) {
	pol, err := policy.New(policy.Config{Strategy: policy.Spillover, CapacityRPS: 20, Step: 1, FailureThreshold: 3, FailSafe: policy.FailSafeHold})
	if err != nil {
		t.Fatal(err)
	}
	home := split.Home("primary", "burst", "burst-2")
	burst, further := &fakeReadiness{n: 1}, &fakeReadiness{n: 2}
	var logs bytes.Buffer
	burstCap := 20.0
	r := &rig{src: &fakeSource{}, rt: &fakeRouter{cur: home}, ev: &events{}, reg: prometheus.NewRegistry(), now: time.Unix(1_700_000_000, 0)}
	r.c = New(Config{Source: r.src, Router: r.rt, Policy: pol, Events: r.ev, Metrics: NewMetrics(r.reg), Interval: time.Second,
		Burst: burst, BurstCapacity: AwayCapacity{RPS: &burstCap},
		Further: []Further{{Name: "burst-2", Ready: further}},
		Log:     slog.New(slog.NewTextHandler(&logs, nil))})
	r.c.now = func() time.Time { return r.now }
	if err := r.c.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.at(50, nil)
	if want := home.WithWeights(40, 40, 20); r.rt.cur != want {
		t.Fatalf("at 50 req/s: %v, want %v", r.rt.cur, want)
	}
	snap := r.c.Snapshot()
	if len(snap.Further) != 1 || snap.Further[0] == nil || snap.Further[0].ReadyEndpoints != 2 || !snap.Further[0].Reachable {
		t.Fatalf("snapshot of burst-2: %+v", snap.Further)
	}
	if got := testutil.ToFloat64(r.c.cfg.Metrics.destReady.WithLabelValues("burst-2")); got != 2 {
		t.Fatalf("burster_destination_ready_endpoints{burst-2} = %v", got)
	}

	// burst-2 cannot be read: counted as not ready, its share goes at once
	// to burst, now the last ready destination, which takes the rest.
	further.err = errors.New("dial tcp: connection refused")
	for range 5 {
		r.at(50, nil)
	}
	if want := home.WithWeights(40, 60, 0); r.rt.cur != want {
		t.Fatalf("burst-2 unreadable: %v, want %v", r.rt.cur, want)
	}
	if got := testutil.ToFloat64(r.c.cfg.Metrics.destReady.WithLabelValues("burst-2")); !math.IsNaN(got) {
		t.Fatalf("burster_destination_ready_endpoints{burst-2} = %v, want NaN", got)
	}
	if snap := r.c.Snapshot(); !snap.Further[0].Blocked || snap.Further[0].Reachable {
		t.Fatalf("snapshot of an unreadable burst-2: %+v", snap.Further[0])
	}
	if n := strings.Count(logs.String(), "readiness unknown"); n != 1 {
		t.Fatalf("%d warnings over 5 intervals, want 1:\n%s", n, logs.String())
	}
	further.err = nil
	r.at(50, nil)
	if n := strings.Count(logs.String(), "readiness read again"); n != 1 {
		t.Fatalf("no note of burst-2 read again:\n%s", logs.String())
	}
	var ready []string
	for _, c := range r.c.Changes() {
		if c.Kind == v1alpha1.ChangeBurstReady {
			ready = append(ready, c.Reason)
		}
	}
	if len(ready) != 1 || ready[0] != "burst-2 has ready workers again (2)" {
		t.Fatalf("ready again told %q", ready)
	}

	// Between steps: a destination carrying traffic with no ready worker
	// is stranded; one without a share, or whose readiness cannot be
	// read, is not.
	r.at(50, nil)
	if want := home.WithWeights(40, 40, 20); r.rt.cur != want {
		t.Fatalf("burst-2 ready again: %v, want %v", r.rt.cur, want)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		name           string
		burst, further fakeReadiness
		want           bool
	}{
		{"both ready", fakeReadiness{n: 1}, fakeReadiness{n: 2}, false},
		{"burst lost its workers", fakeReadiness{n: 0}, fakeReadiness{n: 2}, true},
		{"burst-2 lost its workers", fakeReadiness{n: 1}, fakeReadiness{n: 0}, true},
		{"burst-2 unreadable", fakeReadiness{n: 1}, fakeReadiness{err: errors.New("timeout")}, false},
	} {
		*burst, *further = tt.burst, tt.further
		if got := r.c.Stranded(ctx); got != tt.want {
			t.Errorf("%s: Stranded = %v, want %v", tt.name, got, tt.want)
		}
	}
	*burst, *further = fakeReadiness{n: 1}, fakeReadiness{n: 0}
	r.at(50, nil) // burst-2's share goes to burst
	if r.c.Stranded(ctx) {
		t.Errorf("burst-2 without a share (%v) is stranded", r.rt.cur)
	}
}

// TestPrescaleFurther: a destination after burst is pre-scaled on its own:
// its HPA is raised once the rate reaches its warm rate, the first shift
// onto it waits for the raised workers, and its minReplicas is put back
// once it has carried nothing, below its warm rate, for its cool-down;
// burst's HPA, warm from a lower rate, is raised and restored apart.
func TestPrescaleFurther(t *testing.T) {
	pol, err := policy.New(policy.Config{Strategy: policy.Spillover, CapacityRPS: 20, Step: 1, FailureThreshold: 3, FailSafe: policy.FailSafeHold})
	if err != nil {
		t.Fatal(err)
	}
	home := split.Home("primary", "burst", "burst-2")
	burstCap := 20.0
	burst, further := &fakeReadiness{n: 4}, &fakeReadiness{n: 1}
	sc1 := &fakeScaler{st: prescale.State{MinReplicas: 1, MaxReplicas: 8}}
	sc2 := &fakeScaler{st: prescale.State{MinReplicas: 1, MaxReplicas: 8}}
	pre := func(sc Scaler, warm float64) *Prescale {
		return &Prescale{Scaler: sc, WarmRPS: warm, HighRPS: warm, PerEndpointRPS: 10, Cooldown: time.Minute, Wait: 30 * time.Second}
	}
	r := &rig{src: &fakeSource{}, rt: &fakeRouter{cur: home}, ev: &events{}, reg: prometheus.NewRegistry(), now: time.Unix(1_700_000_000, 0)}
	r.c = New(Config{Source: r.src, Router: r.rt, Policy: pol, Events: r.ev, Metrics: NewMetrics(r.reg), Interval: time.Second,
		Burst: burst, BurstCapacity: AwayCapacity{RPS: &burstCap}, Prescale: pre(sc1, 15),
		Further: []Further{{Name: "burst-2", Ready: further, Prescale: pre(sc2, 35)}},
		Log:     slog.New(slog.DiscardHandler)})
	r.c.now = func() time.Time { return r.now }
	if err := r.c.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	prescaled := func(dest string) float64 {
		return testutil.ToFloat64(r.c.cfg.Metrics.destPrescale.WithLabelValues(dest))
	}

	// 30 req/s: burst warm (ceil(30/10) = 3 workers, 4 ready), burst-2
	// not yet.
	r.at(30, nil)
	if want := home.WithWeights(67, 33, 0); r.rt.cur != want || sc1.st.MinReplicas != 3 || sc2.raises != 0 {
		t.Fatalf("at 30 req/s: %v, burst's minReplicas %d, %d raises of burst-2's", r.rt.cur, sc1.st.MinReplicas, sc2.raises)
	}

	// 45 req/s: burst-2's HPA raised to 5; with 1 of 5 ready the shift
	// that gives it a share waits.
	r.at(45, nil)
	if sc2.st.MinReplicas != 5 || prescaled("burst-2") != 5 || prescaled("burst") != 5 {
		t.Fatalf("at 45 req/s: burst-2's minReplicas %d, metrics burst-2 %v, burst %v", sc2.st.MinReplicas, prescaled("burst-2"), prescaled("burst"))
	}
	if want := home.WithWeights(67, 33, 0); r.rt.cur != want {
		t.Fatalf("shifted onto burst-2 with 1 of its 5 workers ready: %v", r.rt.cur)
	}
	snap := r.c.Snapshot()
	if snap.Further[0].PrescaledTo != 5 || snap.Burst.PrescaledTo != 5 {
		t.Fatalf("snapshot: burst %+v, burst-2 %+v", snap.Burst, snap.Further[0])
	}
	var raised []string
	for _, c := range r.c.Changes() {
		if c.Kind == v1alpha1.ChangePreScaled {
			raised = append(raised, c.Reason)
		}
	}
	if len(raised) != 3 || !strings.Contains(raised[2], "raised the burst-2 HorizontalPodAutoscaler worker's minReplicas from 1 to 5 for 45.0 req/s") {
		t.Fatalf("PreScaled changes %q", raised)
	}

	// Its workers ready: the shift.
	further.n = 5
	r.at(45, nil)
	if r.rt.cur.Weight(2) == 0 {
		t.Fatalf("burst-2 ready: %v, want a share on it", r.rt.cur)
	}

	// Down to 30 req/s: burst-2 carries nothing again; its HPA is put back
	// a cool-down later, burst's (warm still) is not.
	for range 59 {
		r.at(30, nil)
	}
	if r.rt.cur.Weight(2) != 0 || sc2.restore != 0 {
		t.Fatalf("within burst-2's cool-down: %v, %d restores", r.rt.cur, sc2.restore)
	}
	for range 3 {
		r.at(30, nil)
	}
	if sc2.restore != 1 || sc2.st.MinReplicas != 1 || prescaled("burst-2") != 0 || sc1.restore != 0 || prescaled("burst") != 5 {
		t.Fatalf("after burst-2's cool-down: its minReplicas %d (%d restores, metric %v); burst's %d restores, metric %v",
			sc2.st.MinReplicas, sc2.restore, prescaled("burst-2"), sc1.restore, prescaled("burst"))
	}
}
