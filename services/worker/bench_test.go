package main

import (
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/testkit/redisserver"
)

// concurrency is the number of clients posting at once.
const concurrency = 32

// BenchmarkPublish measures the whole request path, HTTP to Redis PUBLISH
// acknowledged, against a real redis-server, with 32 concurrent keep-alive
// clients. It reports throughput and latency percentiles; it asserts none.
func BenchmarkPublish(b *testing.B) {
	rs := redisserver.Start(b)
	ts := startWorker(b, rs.Addr, "")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	b.SetParallelism(max(1, concurrency/runtime.GOMAXPROCS(0)))

	var mu sync.Mutex
	var all []time.Duration
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		lat := make([]time.Duration, 0, 1024)
		i := 0
		for pb.Next() {
			i++
			t0 := time.Now()
			resp, err := client.Post(ts.URL, "application/json", strings.NewReader(`{"str":"bench-`+strconv.Itoa(i)+`"}`))
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			lat = append(lat, time.Since(t0))
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()

	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
