package controller

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

// hungDestinations answers only once released, as a query to a Prometheus
// that hangs would.
type hungDestinations struct {
	started chan struct{}
	release chan struct{}
}

func (h *hungDestinations) Destinations(ctx context.Context) (source.Destinations, error) {
	h.started <- struct{}{}
	select {
	case <-h.release:
		return source.Destinations{Burst: source.Traffic{RPS: 30}}, nil
	case <-ctx.Done():
		return source.Destinations{}, ctx.Err()
	}
}

// TestStatusNeverDelaysAWrite: the measurements that only feed the status
// run after the write, beside the loop. With the destinations' query hung,
// every tick still decides and writes at once, and starts no second report
// while the first hangs; once it answers, its reading reaches the status.
func TestStatusNeverDelaysAWrite(t *testing.T) {
	r := newRig(t, false, split.AllPrimary)
	hung := &hungDestinations{started: make(chan struct{}, 10), release: make(chan struct{})}
	r.c.cfg.Destinations = hung
	tick := func(rps float64) {
		r.now = r.now.Add(time.Second)
		r.src.rps = rps
		r.c.Tick(context.Background()) // returns with the report still hung
	}
	tick(30)
	<-hung.started
	if r.rt.cur != split.AllBurst || r.rt.sets != 1 {
		t.Fatalf("with the status's query hung: weights %v after %d writes, want all to burst", r.rt.cur, r.rt.sets)
	}
	for range 5 {
		tick(2) // below the low threshold: back to primary once the dwell has passed
	}
	if r.rt.cur != split.AllPrimary || r.rt.sets != 2 {
		t.Fatalf("with the status's query hung: weights %v after %d writes, want back to primary", r.rt.cur, r.rt.sets)
	}
	if n := testutil.ToFloat64(r.c.cfg.Metrics.reportsSkipped); n != 5 {
		t.Fatalf("%v reports skipped, want 5: one report at a time", n)
	}
	if len(hung.started) != 0 {
		t.Fatalf("%d more reports started while the first hung", len(hung.started))
	}
	close(hung.release)
	r.c.waitReports()
	if d := r.c.Snapshot().Destinations; d == nil || d.Burst.RPS != 30 {
		t.Fatalf("the report's reading did not reach the status: %+v", d)
	}
}
