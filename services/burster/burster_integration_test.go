package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
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

// TestSpilloverFromLiveCapacity: with CAPACITY_PER_ENDPOINT_RPS the burster,
// as its ServiceAccount with the shipped Role, counts the worker's ready
// endpoints from their EndpointSlices on a real API server: 3 ready × 10
// req/s against 50 req/s sends 40% to burst (STEP 10); one endpoint turning
// unready makes it 60%. The status shows the capacity.
func TestSpilloverFromLiveCapacity(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	slices := c.env.Clientset(t).DiscoveryV1().EndpointSlices(c.ns)
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "worker-abc", Labels: map[string]string{discoveryv1.LabelServiceName: "worker"}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for i := range 3 {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{fmt.Sprintf("10.0.0.%d", i+1)}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		})
	}
	// Another Service's endpoints do not count.
	other := slice.DeepCopy()
	other.Name, other.Labels = "frontend-xyz", map[string]string{discoveryv1.LabelServiceName: "frontend"}
	for _, s := range []*discoveryv1.EndpointSlice{slice, other} {
		if _, err := slices.Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	load := newLoadExporter(t, 50)
	prom := promserver.Start(t, load.Host())
	r := c.startReplica(t, "replica", map[string]string{
		"SOURCE": "prometheus", "PROMETHEUS_URL": prom.URL, "QUERY": `sum(rate(test_requests_total[5s]))`,
		"STRATEGY": "spillover", "STEP": "10", "CAPACITY_PER_ENDPOINT_RPS": "10", "INTERVAL": "500ms",
	})
	component.Eventually(t, 30*time.Second, "40% to burst with 3 ready endpoints", func() bool { return c.weights(t) == split.WithBurst(40) })
	if v, ok := r.metric("burster_primary_ready_endpoints"); !ok || v != 3 {
		t.Fatalf("burster_primary_ready_endpoints = %v (%v), want 3", v, ok)
	}

	slice.Endpoints[1].Conditions.Ready = ptr.To(false)
	if _, err := slices.Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	component.Eventually(t, 30*time.Second, "60% to burst with 2 ready endpoints", func() bool { return c.weights(t) == split.WithBurst(60) })
	var st bursterapi.Status
	resp, err := http.Get(r.base + bursterapi.StatusPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.PrimaryCapacity == nil || st.PrimaryCapacity.RPS != 20 || st.PrimaryCapacity.ReadyEndpoints != 2 {
		t.Fatalf("status primaryCapacity = %+v, want 20 req/s from 2 ready endpoints", st.PrimaryCapacity)
	}
	changes := c.events(t, "WeightsChanged")
	if len(changes) == 0 || !strings.Contains(changes[len(changes)-1].Message+changes[0].Message, "live capacity") {
		t.Fatalf("WeightsChanged events do not name the live capacity: %v", changes)
	}
}
