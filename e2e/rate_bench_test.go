package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
)

// BenchmarkFrontendRate measures how closely the frontend's generator holds
// the target rate through the real worker: for each target it counts the
// hashes published on the Redis channel over a window and reports
// achieved/s and achieved/target. Everything (Redis, worker, frontend, this
// counter) shares the machine's cores. Run with -benchtime=1x.
func BenchmarkFrontendRate(b *testing.B) {
	s := startStack(b, "", map[string]string{"MAX_RPS": "10000", "MAX_IN_FLIGHT": "512"})
	rdb := redis.NewClient(&redis.Options{Addr: s.redis.Addr})
	defer rdb.Close()
	ps := rdb.Subscribe(context.Background(), hashmsg.DefaultChannel)
	defer ps.Close()
	if _, err := ps.Receive(context.Background()); err != nil {
		b.Fatal(err)
	}
	msgs := ps.Channel(redis.WithChannelSize(1 << 17))

	for _, tc := range []struct {
		rps    int
		window time.Duration // long enough that ±1 message is ≤1% at 10/s
	}{
		{10, 10 * time.Second}, {100, 5 * time.Second}, {1000, 5 * time.Second},
		{2000, 5 * time.Second}, {5000, 5 * time.Second}, {10000, 5 * time.Second},
	} {
		b.Run(fmt.Sprintf("target=%d", tc.rps), func(b *testing.B) {
			ctx := context.Background()
			var achieved float64
			var failed, dropped uint64
			for range b.N {
				if err := putRate(ctx, s.frontend.base, tc.rps); err != nil {
					b.Fatal(err)
				}
				time.Sleep(time.Second) // warm up: connections, pacing epoch
				before := status(b, s.frontend.base)
				n := countFor(msgs, tc.window)
				after := status(b, s.frontend.base)
				achieved = float64(n) / tc.window.Seconds()
				failed, dropped = after.Failed-before.Failed, after.Dropped-before.Dropped
			}
			if err := putRate(ctx, s.frontend.base, 0); err != nil {
				b.Fatal(err)
			}
			countFor(msgs, 500*time.Millisecond) // drain the tail before the next target
			b.ReportMetric(achieved, "achieved/s")
			b.ReportMetric(100*achieved/float64(tc.rps), "%target")
			b.ReportMetric(float64(failed), "failed")
			b.ReportMetric(float64(dropped), "dropped")
		})
	}
}

// countFor counts messages arriving within d, after discarding those
// already buffered (they arrived before the window).
func countFor(msgs <-chan *redis.Message, d time.Duration) int {
	for len(msgs) > 0 {
		<-msgs
	}
	end := time.After(d)
	n := 0
	for {
		select {
		case <-msgs:
			n++
		case <-end:
			return n
		}
	}
}

type genStatus struct {
	Failed  uint64 `json:"failed"`
	Dropped uint64 `json:"dropped"`
}

func status(b *testing.B, base string) genStatus {
	b.Helper()
	resp, err := http.Get(base + "/api/status")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var s genStatus
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		b.Fatal(err)
	}
	return s
}
