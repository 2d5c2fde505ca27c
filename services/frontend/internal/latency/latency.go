// Package latency keeps the request durations the load generator sees, per
// cluster, over a sliding window of whole seconds: one fixed-bucket
// histogram per second in a ring, so memory is fixed whatever the rate, and
// recording a duration takes a short lock and allocates nothing. Every
// request sent is counted: a failed one is beyond the objective, and the
// quantiles count it as taking the request timeout. From the window it
// gives each cluster's p50 and p99 and the share answered within the
// objective (counted exactly, not from a bucket).
package latency

import (
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
)

// The buckets are log-linear over microseconds, as in an HDR histogram: 16
// per power of two, so a quantile is within 1/16 (6.25%) of the truth. 464
// buckets reach 2^32 µs (over an hour); longer durations count in the last.
const (
	subBits  = 4
	sub      = 1 << subBits
	nBuckets = (32-subBits)*sub + sub
)

// index is the bucket of a duration of v µs.
func index(v uint64) int {
	if v < sub {
		return int(v)
	}
	if v >= 1<<32 {
		return nBuckets - 1
	}
	e := bits.Len64(v) - subBits - 1 // v>>e is in [sub, 2sub)
	return (e+1)*sub + int(v>>e) - sub
}

// upper is the highest duration in µs that bucket i holds: a quantile
// reports it, so it never understates.
func upper(i int) uint64 {
	if i < sub {
		return uint64(i)
	}
	e, m := i/sub-1, uint64(i%sub+sub)
	return (m+1)<<e - 1
}

// rowOf is the row of cluster c: its place among the clusters, the last
// row (failed requests no answer named a cluster for) for an unknown or
// empty one.
func (w *Window) rowOf(c hashmsg.Cluster) int {
	for i, k := range w.clusters {
		if k == c {
			return i
		}
	}
	return len(w.clusters)
}

// row is one row's histogram over one second.
type row struct {
	counts                [nBuckets]uint32
	within, total, failed uint64
}

// second is one second's histograms, one per cluster and the unattributed
// last.
type second struct {
	at   int64 // the Unix second it holds
	rows []row
}

// Window is the sliding window of durations.
type Window struct {
	objective time.Duration
	failedAs  time.Duration // what a failed request counts as
	now       func() time.Time
	window    int               // complete seconds reported
	clusters  []hashmsg.Cluster // the rows, in order

	mu      sync.Mutex
	seconds []second // a ring indexed by Unix second modulo its length
}

// New returns a window of the given whole seconds for clusters, counting
// durations up to objective as within it and a failed request as taking
// failedAs (the request timeout, beyond the objective).
func New(seconds int, objective, failedAs time.Duration, clusters []hashmsg.Cluster) *Window {
	// One slot more than the window: the current second, being recorded,
	// must not take the slot of the oldest one the window still reports.
	n := max(1, seconds)
	w := &Window{objective: objective, failedAs: max(failedAs, objective+time.Microsecond), now: time.Now, window: n,
		clusters: slices.Clone(clusters), seconds: make([]second, n+1)}
	for i := range w.seconds {
		w.seconds[i].rows = make([]row, len(clusters)+1)
	}
	return w
}

// Record counts one request answered 200 by cluster c that took d.
func (w *Window) Record(c hashmsg.Cluster, d time.Duration) { w.record(w.rowOf(c), d, false) }

// RecordFailed counts one request that failed at cluster c ("" when no
// answer named one): beyond the objective, as if it took failedAs.
func (w *Window) RecordFailed(c hashmsg.Cluster) { w.record(w.rowOf(c), w.failedAs, true) }

func (w *Window) record(i int, d time.Duration, failed bool) {
	us := uint64(max(0, d.Microseconds()))
	sec := w.now().Unix()
	w.mu.Lock()
	defer w.mu.Unlock()
	s := &w.seconds[int(uint64(sec)%uint64(len(w.seconds)))]
	if s.at != sec {
		s.at = sec
		clear(s.rows)
	}
	r := &s.rows[i]
	r.counts[index(us)]++
	r.total++
	switch {
	case failed:
		r.failed++
	case d <= w.objective:
		r.within++
	}
}

// Latency is each cluster's figures over the window's last complete
// seconds, the current one left out: a count over them is a count over
// exactly the window, so count ÷ seconds is a rate.
func (w *Window) Latency() pageapi.Latency {
	now := w.now().Unix()
	rows := len(w.clusters) + 1
	counts := make([][nBuckets]uint64, rows)
	within, total, failed := make([]uint64, rows), make([]uint64, rows), make([]uint64, rows)
	w.mu.Lock()
	for k := range w.seconds {
		s := &w.seconds[k]
		if s.at < now-int64(w.window) || s.at >= now {
			continue
		}
		for c := range s.rows {
			r := &s.rows[c]
			for b, n := range r.counts {
				counts[c][b] += uint64(n)
			}
			within[c] += r.within
			total[c] += r.total
			failed[c] += r.failed
		}
	}
	w.mu.Unlock()
	out := pageapi.Latency{ObjectiveMS: ms(w.objective), WindowSeconds: w.window, FailedAsMS: ms(w.failedAs),
		Clusters: make([]pageapi.ClusterLatency, len(w.clusters))}
	for c := range rows {
		dst := &out.Unattributed
		if c < len(w.clusters) {
			dst = &out.Clusters[c]
			dst.Cluster = w.clusters[c]
		}
		dst.Requests, dst.Failed = total[c], failed[c]
		if total[c] == 0 {
			continue
		}
		p50, p99 := quantile(&counts[c], total[c], 0.5), quantile(&counts[c], total[c], 0.99)
		share := float64(within[c]) / float64(total[c])
		dst.P50MS, dst.P99MS, dst.WithinObjective = &p50, &p99, &share
	}
	return out
}

// quantile is the q-quantile of n counts, in ms: the upper bound of the
// bucket holding the ceil(q·n)-th smallest duration.
func quantile(counts *[nBuckets]uint64, n uint64, q float64) float64 {
	rank := uint64(q * float64(n))
	if float64(rank) < q*float64(n) || rank == 0 {
		rank++
	}
	var seen uint64
	for b, c := range counts {
		if seen += c; seen >= rank {
			return float64(upper(b)) / 1000
		}
	}
	return float64(upper(nBuckets-1)) / 1000
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
