package main

import (
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
)

// BenchmarkReaction measures the burster's reaction time: from the moment
// the load jumps from 5 to 30 req/s (HIGH_RPS is 15) to the moment the
// VirtualService in a real API server sends everything to burst. Sources are
// scraped every second; the Prometheus query's window is 5s. The codelab
// needed 15 s or more. Run with -benchtime=1x.
func BenchmarkReaction(b *testing.B) {
	for _, src := range []string{"prometheus", "scrape"} {
		b.Run("source="+src, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				total += reactOnce(b, src)
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "reaction-s")
		})
	}
}

func reactOnce(b *testing.B, src string) time.Duration {
	c := newCluster(b)
	load := newLoadExporter(b, 5)
	env := map[string]string{"INTERVAL": "1s", "LEADER_ELECT": "false"}
	if src == "prometheus" {
		prom := promserver.Start(b, load.Host())
		env["SOURCE"], env["PROMETHEUS_URL"], env["QUERY"] = "prometheus", prom.URL, `sum(rate(test_requests_total[5s]))`
	} else {
		// The scrape source samples at INTERVAL, i.e. every second too.
		for k, v := range scrapeEnv(load) {
			env[k] = v
		}
		env["SCRAPE_WINDOW"] = "5s"
	}
	r := c.startReplica(b, "bench", env)
	// Steady state first: the idle load measured over a full window.
	component.Eventually(b, 60*time.Second, "steady idle rate", func() bool {
		v, ok := r.metric("burster_observed_rps")
		return ok && v > 4.5 && v < 5.5
	})
	time.Sleep(5 * time.Second) // warm-up: a whole window of the idle rate, so the step is measured from steady state

	start := time.Now()
	load.Set(30)
	component.Eventually(b, 60*time.Second, "weights reach burst", func() bool { return c.weights(b) == split.AllBurst })
	return time.Since(start)
}
