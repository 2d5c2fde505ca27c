package loadgen

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/services/frontend/internal/latency"
	"github.com/cloudburst-demo/cloudburst/testkit/usage"
)

// cost is what the process spent per request sent while the generator ran.
type cost struct {
	cpu    time.Duration // user + system CPU of the whole process (generator and server)
	allocs float64
	rps    float64
}

// runAt runs a generator at rps for d against url, with or without
// latency recording, and returns its cost per request.
func runAt(b *testing.B, url string, rps int, d time.Duration, lat *latency.Window) cost {
	b.Helper()
	g, err := New(Config{URL: url, MaxRPS: rps, MaxInFlight: 512, Timeout: 2 * time.Second, Latency: lat})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	if err := g.SetRate(rps); err != nil {
		b.Fatal(err)
	}
	time.Sleep(time.Second) // warm up: connections, pacing; the window below is what is measured
	cpu0, allocs0, sent0 := usage.CPU(b), usage.Mallocs(), g.Stats().Sent
	start := time.Now()
	time.Sleep(d)
	cpu1, allocs1, sent1 := usage.CPU(b), usage.Mallocs(), g.Stats().Sent
	elapsed := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	n := float64(sent1 - sent0)
	if n == 0 {
		b.Fatal("nothing sent")
	}
	return cost{cpu: time.Duration(float64(cpu1-cpu0) / n), allocs: float64(allocs1-allocs0) / n, rps: n / elapsed.Seconds()}
}

// BenchmarkLatencyRecording prints the cost per request of the load
// generator at 5,000 req/s against a worker-shaped server in the same
// process, with the per-cluster latency recording and, as its ceiling,
// without: CPU per request (the process's, server included) and heap
// allocations per request, and their ratio. Run with -benchtime=4x: each
// round runs both.
func BenchmarkLatencyRecording(b *testing.B) {
	const rps = 5000
	sum := sha256.Sum256([]byte("x"))
	bodies := [2][]byte{
		[]byte(fmt.Sprintf(`{"message":%q}`, hashmsg.Format("", sum))),
		[]byte(fmt.Sprintf(`{"message":%q}`, hashmsg.Format("bursty-", sum))),
	}
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write(bodies[n.Add(1)&1]) // the clusters alternate
	}))
	defer srv.Close()
	// Each round runs both, in alternating order, so drift in the shared
	// machine's load falls on both; the figures are the rounds' means.
	var with, without cost
	add := func(sum *cost, c cost) {
		sum.cpu += c.cpu / time.Duration(b.N)
		sum.allocs += c.allocs / float64(b.N)
		sum.rps += c.rps / float64(b.N)
	}
	for i := range b.N {
		lat := latency.New(10, 250*time.Millisecond, 2*time.Second, hashmsg.DefaultClusters.Names())
		if i%2 == 0 {
			add(&without, runAt(b, srv.URL, rps, 3*time.Second, nil))
			add(&with, runAt(b, srv.URL, rps, 3*time.Second, lat))
		} else {
			add(&with, runAt(b, srv.URL, rps, 3*time.Second, lat))
			add(&without, runAt(b, srv.URL, rps, 3*time.Second, nil))
		}
		if l := lat.Latency(); l.Clusters[0].Requests == 0 || l.Clusters[1].Requests == 0 {
			b.Fatalf("nothing recorded: %+v", l)
		}
	}
	b.ReportMetric(float64(with.cpu.Nanoseconds()), "cpu-ns/req")
	b.ReportMetric(float64(without.cpu.Nanoseconds()), "cpu-ns/req-without")
	b.ReportMetric(float64(with.cpu)/float64(without.cpu), "cpu-ratio")
	b.ReportMetric(with.allocs, "allocs/req")
	b.ReportMetric(without.allocs, "allocs/req-without")
	b.ReportMetric(with.rps, "req/s")
	b.ReportMetric(without.rps, "req/s-without")
}
