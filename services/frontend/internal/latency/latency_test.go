package latency

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
)

// TestBuckets: every duration falls in a bucket whose range holds it, the
// buckets are in order, and a bucket is at most 1/16 of its values wide.
func TestBuckets(t *testing.T) {
	values := []uint64{0, 1, 15, 16, 17, 31, 32, 33, 1000, 250_000, 250_001, 1<<32 - 1}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 10000 {
		values = append(values, rng.Uint64N(1<<32))
	}
	for _, v := range values {
		i := index(v)
		lo := uint64(0)
		if i > 0 {
			lo = upper(i-1) + 1
		}
		if v < lo || v > upper(i) {
			t.Fatalf("%d µs in bucket %d, which holds %d..%d", v, i, lo, upper(i))
		}
		if v >= sub && float64(upper(i)-lo+1) > float64(lo)/sub+1 {
			t.Fatalf("bucket %d (%d..%d) is wider than 1/16 of its values", i, lo, upper(i))
		}
	}
	if index(1<<40) != nBuckets-1 || upper(nBuckets-1) != 1<<32-1 {
		t.Fatalf("the last bucket: index %d, upper %d", index(1<<40), upper(nBuckets-1))
	}
}

// TestWindow: quantiles within 6.25% above the truth, the share within the
// objective exact, per cluster, and seconds older than the window gone.
func TestWindow(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	w := New(10, 250*time.Millisecond, 2*time.Second, two)
	w.now = func() time.Time { return now }
	if l := w.Latency(); l.Clusters[0].P99MS != nil || l.Clusters[0].Requests != 0 || l.ObjectiveMS != 250 || l.WindowSeconds != 10 {
		t.Fatalf("empty window: %+v", l)
	}
	// Primary: 1000 requests, 1..1000 ms; burst: 100 at 300 ms.
	var primary []float64
	for i := 1; i <= 1000; i++ {
		w.Record(hashmsg.Primary, time.Duration(i)*time.Millisecond)
		primary = append(primary, float64(i))
		if i%100 == 0 {
			now = now.Add(500 * time.Millisecond) // spread over 5 s
		}
	}
	for range 100 {
		w.Record(hashmsg.Burst, 300*time.Millisecond)
	}
	if l := w.Latency(); l.Clusters[1].Requests != 0 || l.Clusters[0].Requests != 1000 {
		t.Fatalf("the current second counted: %d primary, %d burst", l.Clusters[0].Requests, l.Clusters[1].Requests)
	}
	now = now.Add(time.Second) // the second they were recorded in is complete
	l := w.Latency()
	slices.Sort(primary)
	for _, q := range []struct {
		got  *float64
		want float64
	}{{l.Clusters[0].P50MS, 500}, {l.Clusters[0].P99MS, 990}, {l.Clusters[1].P50MS, 300}, {l.Clusters[1].P99MS, 300}} {
		if q.got == nil || *q.got < q.want || *q.got > q.want*1.0625 {
			t.Fatalf("quantile %v, want %v to 6.25%% above: %+v", q.got, q.want, l)
		}
	}
	if l.Clusters[0].Requests != 1000 || *l.Clusters[0].WithinObjective != 0.25 || *l.Clusters[1].WithinObjective != 0 {
		t.Fatalf("counts: %+v %+v", l.Clusters[0], l.Clusters[1])
	}
	// 5 s later the first second has left the 10 s window.
	now = now.Add(5 * time.Second)
	if l = w.Latency(); l.Clusters[0].Requests != 800 || l.Clusters[1].Requests != 100 {
		t.Fatalf("5 s later: %+v %+v, want the first 200 of primary's gone", l.Clusters[0], l.Clusters[1])
	}
	// 11 s after the last of those, only what came since remains.
	now = now.Add(11 * time.Second)
	w.Record(hashmsg.Primary, 2*time.Millisecond)
	now = now.Add(time.Second)
	l = w.Latency()
	if l.Clusters[1].Requests != 0 || l.Clusters[0].Requests != 1 || math.Abs(*l.Clusters[0].P50MS-2) > 0.125 {
		t.Fatalf("after the window slid: %+v %+v", l.Clusters[0], l.Clusters[1])
	}
	now = now.Add(20 * time.Second)
	if l = w.Latency(); l.Clusters[0].Requests != 0 {
		t.Fatalf("an idle window: %+v", l.Clusters[0])
	}
}

// TestFailuresCount: every request sent counts. A failed one is beyond the
// objective and, in the quantiles, takes the request timeout: 2 of 100
// failed put the p99 at the timeout, where the answers alone would read
// 10 ms. A failure no answer named a cluster for is unattributed.
func TestFailuresCount(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	w := New(10, 250*time.Millisecond, 2*time.Second, two)
	w.now = func() time.Time { return now }
	for range 98 {
		w.Record(hashmsg.Primary, 10*time.Millisecond)
	}
	w.RecordFailed(hashmsg.Primary)
	w.RecordFailed(hashmsg.Primary)
	w.RecordFailed("")
	now = now.Add(time.Second)
	l := w.Latency()
	p := l.Clusters[0]
	if p.Requests != 100 || p.Failed != 2 || *p.WithinObjective != 0.98 || *p.P50MS > 10.625 {
		t.Fatalf("primary %+v", p)
	}
	if *p.P99MS < 2000 || *p.P99MS > 2000*1.0625 || l.FailedAsMS != 2000 {
		t.Fatalf("primary's p99 %v with 2%% failed, want the 2 s timeout", *p.P99MS)
	}
	if u := l.Unattributed; u.Requests != 1 || u.Failed != 1 || *u.WithinObjective != 0 {
		t.Fatalf("unattributed %+v", u)
	}
	if b := l.Clusters[1]; b.Requests != 0 || b.Failed != 0 {
		t.Fatalf("burst %+v", b)
	}
}

// TestRecordAllocatesNothing: recording is on every request's path.
func TestRecordAllocatesNothing(t *testing.T) {
	w := New(10, 250*time.Millisecond, 2*time.Second, two)
	if n := testing.AllocsPerRun(1000, func() { w.Record(hashmsg.Burst, 42*time.Millisecond); w.RecordFailed("") }); n != 0 {
		t.Fatalf("Record allocates %v times", n)
	}
}

// TestWindowIsWhole: at a steady rate the window holds exactly its seconds'
// requests, while the current second is being recorded too.
func TestWindowIsWhole(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	w := New(10, 250*time.Millisecond, 2*time.Second, two)
	w.now = func() time.Time { return now }
	for sec := range 30 {
		now = time.Unix(1_700_000_000+int64(sec), 0)
		for range 5 {
			w.Record(hashmsg.Primary, time.Millisecond)
		}
		if l := w.Latency(); sec >= 10 && l.Clusters[0].Requests != 50 {
			t.Fatalf("at second %d: %d requests in the window, want 10 seconds × 5", sec, l.Clusters[0].Requests)
		}
	}
}

// two is the window's rows with two clusters.
var two = []hashmsg.Cluster{hashmsg.Primary, hashmsg.Burst}

// TestThreeClusters: a window of three clusters keeps a row for each, in
// order, named; a cluster it does not know counts as unattributed.
func TestThreeClusters(t *testing.T) {
	w := New(10, 250*time.Millisecond, 2*time.Second, []hashmsg.Cluster{hashmsg.Primary, hashmsg.Burst, "burst-2"})
	now := time.Unix(1000, 0)
	w.now = func() time.Time { return now }
	for range 3 {
		w.Record("burst-2", 100*time.Millisecond)
	}
	w.Record(hashmsg.Primary, time.Millisecond)
	w.RecordFailed("burst-3")
	now = now.Add(time.Second)
	l := w.Latency()
	if len(l.Clusters) != 3 || l.Clusters[0].Cluster != hashmsg.Primary || l.Clusters[1].Cluster != hashmsg.Burst || l.Clusters[2].Cluster != "burst-2" {
		t.Fatalf("clusters %+v", l.Clusters)
	}
	if c := l.Of("burst-2"); c.Requests != 3 || *c.WithinObjective != 1 || math.Abs(*c.P99MS-100) > 100.0/16 {
		t.Fatalf("burst-2: %+v", c)
	}
	if l.Clusters[0].Requests != 1 || l.Clusters[1].Requests != 0 || l.Unattributed.Failed != 1 || l.Unattributed.Cluster != "" {
		t.Fatalf("primary %+v, burst %+v, unattributed %+v", l.Clusters[0], l.Clusters[1], l.Unattributed)
	}
}
