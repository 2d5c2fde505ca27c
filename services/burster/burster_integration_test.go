package main

import (
	"context"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
)

func scrapeEnv(e *promserver.Load) map[string]string {
	return map[string]string{
		"SOURCE": "scrape", "SCRAPE_URL": e.URL, "SCRAPE_METRIC": "test_requests_total", "SCRAPE_WINDOW": "2s",
	}
}

// TestTwoReplicasOneWriter: with leader election, one replica writes; when it
// stops, the other takes over and carries on. Both authenticate with the
// shipped Role's token, which proves its Lease and Event rules too.
func TestTwoReplicasOneWriter(t *testing.T) {
	c := newCluster(t)
	load := newLoadExporter(t, 5)

	a := c.startReplica(t, "replica-a", scrapeEnv(load))
	component.Eventually(t, 15*time.Second, "replica-a leads", a.leader)
	b := c.startReplica(t, "replica-b", scrapeEnv(load))
	time.Sleep(2 * time.Second) // several retry periods
	if b.leader() {
		t.Fatal("two leaders")
	}

	load.Set(30)
	component.Eventually(t, 15*time.Second, "weights reach burst", func() bool { return c.weights(t) == split.AllBurst })
	component.Eventually(t, 10*time.Second, "WeightsChanged event", func() bool { return len(c.events(t, "WeightsChanged")) > 0 })
	for _, e := range c.events(t, "WeightsChanged") {
		if e.Source.Host != "replica-a" {
			t.Fatalf("event from %q while replica-a leads: %s", e.Source.Host, e.Message)
		}
	}

	a.stop(t) // releases the Lease
	start := time.Now()
	component.Eventually(t, 10*time.Second, "replica-b takes over", b.leader)
	t.Logf("hand-over took %s", time.Since(start).Round(10*time.Millisecond))

	load.Set(2)
	component.Eventually(t, 15*time.Second, "weights back to primary", func() bool { return c.weights(t) == split.AllPrimary })
	component.Eventually(t, 10*time.Second, "replica-b's event", func() bool {
		for _, e := range c.events(t, "WeightsChanged") {
			if e.Source.Host == "replica-b" {
				return true
			}
		}
		return false
	})
}

// TestDriftIsPutBack: a change made by someone else (a re-apply of the
// manifests, a person with kubectl) is reverted and reported.
func TestDriftIsPutBack(t *testing.T) {
	c := newCluster(t)
	load := newLoadExporter(t, 30)
	r := c.startReplica(t, "replica", scrapeEnv(load))
	component.Eventually(t, 15*time.Second, "weights reach burst", func() bool { return c.weights(t) == split.AllBurst })

	admin := router.NewIstio(c.env.Dynamic(t), c.ns, "worker", "primary", "burst")
	if _, err := admin.Set(context.Background(), split.WithBurst(50)); err != nil {
		t.Fatal(err)
	}
	component.Eventually(t, 10*time.Second, "weights put back", func() bool { return c.weights(t) == split.AllBurst })
	component.Eventually(t, 10*time.Second, "DriftCorrected event", func() bool { return len(c.events(t, "DriftCorrected")) > 0 })
	if v, _ := r.metric("burster_drift_corrections_total"); v < 1 {
		t.Fatalf("burster_drift_corrections_total = %v", v)
	}
}

// TestDryRunWritesNothing: decisions are reported, the object is untouched.
func TestDryRunWritesNothing(t *testing.T) {
	c := newCluster(t)
	load := newLoadExporter(t, 30)
	env := scrapeEnv(load)
	env["DRY_RUN"] = "true"
	c.startReplica(t, "replica", env)
	component.Eventually(t, 15*time.Second, "DryRun event", func() bool { return len(c.events(t, "DryRun")) > 0 })
	if got := c.weights(t); got != split.AllPrimary {
		t.Fatalf("dry run changed the weights to %v", got)
	}
}

// TestBurstLoopWithRealPrometheus is the codelab's loop end to end: a real
// Prometheus scrapes the load every second, the burster queries it, and the
// VirtualService in a real API server follows the load up and down.
func TestBurstLoopWithRealPrometheus(t *testing.T) {
	c := newCluster(t)
	load := newLoadExporter(t, 5)
	prom := promserver.Start(t, load.Host())
	r := c.startReplica(t, "replica", map[string]string{
		"SOURCE": "prometheus", "PROMETHEUS_URL": prom.URL,
		"QUERY": `sum(rate(test_requests_total[5s]))`, "INTERVAL": "500ms",
	})
	// Wait until the burster measures the idle load, then check it held.
	component.Eventually(t, 30*time.Second, "a measurement", func() bool { v, ok := r.metric("burster_observed_rps"); return ok && v > 3 && v < 7 })
	if got := c.weights(t); got != split.AllPrimary {
		t.Fatalf("at 5 req/s the weights are %v", got)
	}

	load.Set(30)
	component.Eventually(t, 30*time.Second, "weights reach burst above HIGH_RPS", func() bool { return c.weights(t) == split.AllBurst })
	load.Set(2)
	component.Eventually(t, 30*time.Second, "weights back below LOW_RPS", func() bool { return c.weights(t) == split.AllPrimary })
	// Events are written asynchronously, after the weights.
	component.Eventually(t, 10*time.Second, "WeightsChanged events for the way up and the way down", func() bool {
		return len(c.events(t, "WeightsChanged")) >= 2
	})
}
