package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/prescale"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/kube"
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
	// B has tried to acquire the Lease once per RETRY_PERIOD (500ms): once
	// A has renewed it more than three periods after B started, B has lost
	// several tries.
	started := time.Now()
	leases := c.env.Clientset(t).CoordinationV1().Leases(c.ns)
	component.EventuallyNil(t, 15*time.Second, "replica-a renewing past three of replica-b's tries", func() error {
		l, err := leases.Get(context.Background(), "burster", metav1.GetOptions{})
		switch {
		case err != nil:
			return err
		case l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "replica-a":
			return fmt.Errorf("held by %v", l.Spec.HolderIdentity)
		case l.Spec.RenewTime == nil || l.Spec.RenewTime.Sub(started) < 1600*time.Millisecond:
			return fmt.Errorf("renewed at %v", l.Spec.RenewTime)
		}
		return nil
	})
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

	admin := router.NewIstio(c.env.Dynamic(t), c.ns, "worker", router.TwoTargets("primary", "burst"))
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
	slice := workerSlice(true, true, true)
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
	if d := status(t, r).Destination("primary"); d == nil || d.CapacityRPS == nil || *d.CapacityRPS != 20 || ready(d) != 2 {
		t.Fatalf("status of primary = %+v, want capacity 20 req/s from 2 ready endpoints", d)
	}
	component.Eventually(t, 10*time.Second, "a WeightsChanged event naming the live capacity", func() bool {
		for _, e := range c.events(t, "WeightsChanged") {
			if strings.Contains(e.Message, "live capacity") {
				return true
			}
		}
		return false
	})
}

// workerSlice is an EndpointSlice of the worker Service with one endpoint
// per readiness given.
func workerSlice(ready ...bool) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "worker-abc", Labels: map[string]string{discoveryv1.LabelServiceName: "worker"}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for i, r := range ready {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{fmt.Sprintf("10.0.0.%d", i+1)}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(r)},
		})
	}
	return s
}

// TestNoBurstIntoNothing runs the burster against two real API servers: its
// own (primary) and the burst cluster's, which it reads with BURST_KUBECONFIG
// as burster-remote, with the shipped burst-side Role. Far over HIGH_RPS, no
// weight moves while burst's only worker is unready (a BurstNotReady event
// says why); once it is ready everything bursts; when it turns unready while
// carrying the burst, everything is back within an interval, though
// MIN_DWELL is 30 s; and a burst API that cannot be reached counts as not
// ready. The burst-side token can list EndpointSlices there and nothing else.
func TestNoBurstIntoNothing(t *testing.T) {
	c := newCluster(t)
	b := newBurstCluster(t, c, workerSlice(false))
	burst, kubeconfig := b.env, b.kubeconfig
	ctx := context.Background()
	slices := burst.Clientset(t).DiscoveryV1().EndpointSlices(c.ns)
	slice, err := slices.Get(ctx, "worker-abc", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	load := newLoadExporter(t, 30)
	prom := promserver.Start(t, load.Host())
	r := c.startReplica(t, "replica", map[string]string{
		"SOURCE": "prometheus", "PROMETHEUS_URL": prom.URL, "QUERY": `sum(rate(test_requests_total[5s]))`,
		"BURST_KUBECONFIG": kubeconfig, "INTERVAL": "500ms", "MIN_DWELL": "30s",
	})
	component.Eventually(t, 30*time.Second, "the burster measuring 30 req/s", func() bool { v, ok := r.metric("burster_observed_rps"); return ok && v > 25 })
	component.Eventually(t, 10*time.Second, "a BurstNotReady event", func() bool { return len(c.events(t, "BurstNotReady")) > 0 })
	if got := c.weights(t); got != split.AllPrimary {
		t.Fatalf("weights moved to a burst cluster without a ready worker: %v", got)
	}
	if st := status(t, r); !st.Has(v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonBurstNotReady) ||
		!reachable(st.Destination("burst")) || ready(st.Destination("burst")) != 0 {
		t.Fatalf("status = %+v, want burst reachable, 0 ready, Degraded BurstNotReady", st)
	}

	slice.Endpoints[0].Conditions.Ready = ptr.To(true)
	if slice, err = slices.Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	component.Eventually(t, 30*time.Second, "everything to burst once its worker is ready", func() bool { return c.weights(t) == split.AllBurst })

	slice.Endpoints[0].Conditions.Ready = ptr.To(false)
	if _, err = slices.Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	lost := time.Now()
	component.Eventually(t, 10*time.Second, "all back to primary, whatever MIN_DWELL", func() bool { return c.weights(t) == split.AllPrimary })
	t.Logf("back to primary %s after burst lost its worker (INTERVAL 500ms, MIN_DWELL 30s)", time.Since(lost).Round(10*time.Millisecond))

	// The burst-side token: list here, nothing more.
	remote, err := kubernetes.NewForConfig(burst.ServiceAccountConfig(t, c.ns, "burster-remote"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.DiscoveryV1().EndpointSlices(c.ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("burster-remote cannot list EndpointSlices: %v", err)
	}
	wantForbidden(t, map[string]error{
		"get an EndpointSlice": func() error {
			_, err := remote.DiscoveryV1().EndpointSlices(c.ns).Get(ctx, "worker-abc", metav1.GetOptions{})
			return err
		}(),
		"watch EndpointSlices": func() error {
			_, err := remote.DiscoveryV1().EndpointSlices(c.ns).Watch(ctx, metav1.ListOptions{})
			return err
		}(),
		"list pods": func() error { _, err := remote.CoreV1().Pods(c.ns).List(ctx, metav1.ListOptions{}); return err }(),
		"list in another namespace": func() error {
			_, err := remote.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{})
			return err
		}(),
		"delete an EndpointSlice": func() error {
			return remote.DiscoveryV1().EndpointSlices(c.ns).Delete(ctx, "worker-abc", metav1.DeleteOptions{})
		}(),
		"list secrets": func() error { _, err := remote.CoreV1().Secrets(c.ns).List(ctx, metav1.ListOptions{}); return err }(),
	})

	// Unreachable counts as not ready: with burst's worker ready again and
	// the load still high, stopping burst's API server keeps (or sends)
	// everything on primary.
	if err := burst.Stop(); err != nil {
		t.Fatal(err)
	}
	component.Eventually(t, 30*time.Second, "burst unreachable reported", func() bool {
		st := status(t, r)
		d := st.Destination("burst")
		return d != nil && d.Reachable != nil && !*d.Reachable &&
			st.Has(v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonBurstNotReady)
	})
	if got := c.weights(t); got != split.AllPrimary {
		t.Fatalf("weights with the burst API unreachable: %v", got)
	}
}

// status reads the policy's status from the replica's /api/status.
func status(t *testing.T, r *replica) v1alpha1.BurstPolicyStatus {
	t.Helper()
	resp, err := http.Get(r.base + bursterapi.StatusPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p v1alpha1.BurstPolicy
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return p.Status
}

// reachable says whether d's cluster answered, as its status says.
func reachable(d *v1alpha1.DestinationStatus) bool {
	return d != nil && d.Reachable != nil && *d.Reachable
}

// ready is d's ready workers, -1 when not known.
func ready(d *v1alpha1.DestinationStatus) int {
	if d == nil || d.ReadyEndpoints == nil {
		return -1
	}
	return int(*d.ReadyEndpoints)
}

// prescaledTo is d's raised minReplicas, 0 when not raised.
func prescaledTo(d *v1alpha1.DestinationStatus) int32 {
	if d == nil || d.PrescaledTo == nil {
		return 0
	}
	return *d.PrescaledTo
}

// burstCluster is a second API server standing for the burst cluster, with
// the namespace of c, the shipped burst-side RBAC, the worker's
// EndpointSlice and a kubeconfig holding burster-remote's token.
type burstCluster struct {
	env        *kube.Env
	kubeconfig string
}

func newBurstCluster(t *testing.T, c *cluster, slice *discoveryv1.EndpointSlice) *burstCluster {
	t.Helper()
	ctx := context.Background()
	env := kube.Start(t)
	if _, err := env.Clientset(t).CoreV1().Namespaces().Create(ctx,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := env.Create(ctx, c.ns, rbacIn(t, remoteRBAC, c.ns)...); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Clientset(t).DiscoveryV1().EndpointSlices(c.ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := env.Kubeconfig(t, "burst", c.ns, "burster-remote")
	if err != nil {
		t.Fatal(err)
	}
	return &burstCluster{env: env, kubeconfig: kubeconfig}
}

// TestPrescale: from WARM_RPS on, the burster raises the burst HPA's
// minReplicas (recording the value it found on the HPA) before any weight
// moves; over HIGH_RPS the first shift waits until that many workers are
// ready; after the load is gone and BURST_COOLDOWN has passed, the value is
// put back, also by a burster that took over in between.
func TestPrescale(t *testing.T) {
	c := newCluster(t)
	burst := newBurstCluster(t, c, workerSlice(true))
	ctx := context.Background()
	hpa := burst.workerHPA(t, c.ns)
	load := newLoadExporter(t, 5)
	prom := promserver.Start(t, load.Host())
	env := map[string]string{
		"SOURCE": "prometheus", "PROMETHEUS_URL": prom.URL, "QUERY": `sum(rate(test_requests_total[5s]))`, "INTERVAL": "500ms",
		"BURST_KUBECONFIG": burst.kubeconfig, "BURST_PRESCALE": "true", "CAPACITY_PER_ENDPOINT_RPS": "12", "WARM_RPS": "8",
		"BURST_COOLDOWN": "2s", "PRESCALE_WAIT": "60s",
	}
	r := c.startReplica(t, "first", maps.Clone(env))
	component.Eventually(t, 30*time.Second, "the idle rate measured", func() bool { v, ok := r.metric("burster_observed_rps"); return ok && v > 3 && v < 7 })
	if n, orig := hpa(); n != 1 || orig != "" {
		t.Fatalf("at 5 req/s the HPA has minReplicas %d (original %q)", n, orig)
	}

	load.Set(12) // warm: the burst would need ceil(15/12) = 2 workers
	component.Eventually(t, 30*time.Second, "minReplicas 2 at 12 req/s", func() bool { n, orig := hpa(); return n == 2 && orig == "1" })
	if got := c.weights(t); got != split.AllPrimary {
		t.Fatalf("weights moved below HIGH_RPS: %v", got)
	}
	load.Set(30) // ceil(30/12) = 3 (and up to 36 req/s of measuring noise); one ready
	component.Eventually(t, 30*time.Second, "minReplicas 3 at 30 req/s", func() bool { n, _ := hpa(); return n == 3 })
	component.Eventually(t, 30*time.Second, "30 req/s measured", func() bool { v, ok := r.metric("burster_observed_rps"); return ok && v > 25 })
	seen, _ := r.metric("burster_measurements_total")
	component.Eventually(t, 30*time.Second, "five more decisions far over HIGH_RPS", func() bool {
		n, _ := r.metric("burster_measurements_total")
		return n >= seen+5
	})
	if got := c.weights(t); got != split.AllPrimary {
		t.Fatalf("shifted with 1 of 3 burst workers ready: %v", got)
	}
	if st := status(t, r); prescaledTo(st.Destination("burst")) != 3 {
		t.Fatalf("status burst = %+v, want prescaledTo 3", st.Destination("burst"))
	}
	slices := burst.env.Clientset(t).DiscoveryV1().EndpointSlices(c.ns)
	if _, err := slices.Update(ctx, workerSlice(true, true, true), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	component.Eventually(t, 30*time.Second, "the shift once 3 workers are ready", func() bool { return c.weights(t) == split.AllBurst })
	// Events are written asynchronously, after the change they report.
	component.Eventually(t, 10*time.Second, "PreScaled events for 2 and 3", func() bool { return len(c.events(t, "PreScaled")) >= 2 })

	// Another burster takes over (a restart, or a new leader) and the load
	// is gone: it finds the record on the HPA and puts 1 back after the
	// cool-down.
	r.stop(t)
	load.Set(0)
	c.startReplica(t, "second", maps.Clone(env))
	component.Eventually(t, 30*time.Second, "all back to primary", func() bool { return c.weights(t) == split.AllPrimary })
	back := time.Now()
	component.Eventually(t, 30*time.Second, "minReplicas restored", func() bool { n, orig := hpa(); return n == 1 && orig == "" })
	if d := time.Since(back); d < 1500*time.Millisecond {
		t.Fatalf("restored %s after the return, before the 2s cool-down", d)
	}
	component.Eventually(t, 10*time.Second, "a ScaledBack event", func() bool { return len(c.events(t, "ScaledBack")) > 0 })
	if ev := c.events(t, "ScaledBack"); len(ev) != 1 || ev[0].Count > 1 || !strings.Contains(ev[0].Message, "from 3 to 1") {
		t.Fatalf("ScaledBack events: %d, first %+v", len(ev), ev[0])
	}

	// The burst-side token: get and patch that HPA, no other.
	remote, err := kubernetes.NewForConfig(burst.env.ServiceAccountConfig(t, c.ns, "burster-remote"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.AutoscalingV2().HorizontalPodAutoscalers(c.ns).Get(ctx, "worker", metav1.GetOptions{}); err != nil {
		t.Fatalf("burster-remote cannot get the worker HPA: %v", err)
	}
	wantForbidden(t, map[string]error{
		"get another HPA": func() error {
			_, err := remote.AutoscalingV2().HorizontalPodAutoscalers(c.ns).Get(ctx, "other", metav1.GetOptions{})
			return err
		}(),
		"list HPAs": func() error {
			_, err := remote.AutoscalingV2().HorizontalPodAutoscalers(c.ns).List(ctx, metav1.ListOptions{})
			return err
		}(),
		"delete the HPA": func() error {
			return remote.AutoscalingV2().HorizontalPodAutoscalers(c.ns).Delete(ctx, "worker", metav1.DeleteOptions{})
		}(),
	})
}

// wantForbidden checks that each attempt of burster-remote, by what it
// tried, was refused by RBAC.
func wantForbidden(t *testing.T, attempts map[string]error) {
	t.Helper()
	for what, err := range attempts {
		if !apierrors.IsForbidden(err) {
			t.Errorf("burster-remote may %s: %v, want Forbidden", what, err)
		}
	}
}

// TestDriftPutBackAfterAPIServerRestart: a restart of the API server cuts
// the burster's watch; drift made right after it is put back all the same
// (read back every interval until the watch reports again).
func TestDriftPutBackAfterAPIServerRestart(t *testing.T) {
	c := newCluster(t)
	load := newLoadExporter(t, 30)
	c.startReplica(t, "replica", scrapeEnv(load))
	component.Eventually(t, 15*time.Second, "weights reach burst", func() bool { return c.weights(t) == split.AllBurst })

	drifted := c.restartAndDrift(t)
	component.Eventually(t, 10*time.Second, "weights put back", func() bool { return c.weights(t) == split.AllBurst })
	t.Logf("drift put back %s after it was made (INTERVAL 200ms)", time.Since(drifted).Round(10*time.Millisecond))
}

// TestNewTermRaisesAgain: replica A raises the burst HPA and loses the Lease
// (its API server stops answering it); B leads, and with the load gone puts
// the HPA back; B stops and A leads again at a load above WARM_RPS: A reads
// the HPA anew and raises it again before any shift, instead of trusting
// what it believed in its last term.
func TestNewTermRaisesAgain(t *testing.T) {
	c := newCluster(t)
	burst := newBurstCluster(t, c, workerSlice(true))
	hpa := burst.workerHPA(t, c.ns)
	load := newLoadExporter(t, 12) // warm: ceil(15/12) = 2 workers
	env := scrapeEnv(load)
	maps.Copy(env, map[string]string{"INTERVAL": "200ms",
		"BURST_KUBECONFIG": burst.kubeconfig, "BURST_PRESCALE": "true", "CAPACITY_PER_ENDPOINT_RPS": "12", "WARM_RPS": "8",
		"PRESCALE_WAIT": "60s"})
	// A never cools down within the test, so nothing of its own undoes what
	// it believes; B puts the HPA back a second after the load is gone.
	envA, envB := maps.Clone(env), maps.Clone(env)
	envA["BURST_COOLDOWN"], envB["BURST_COOLDOWN"] = "5m", "1s"

	hung := startHangingServer(t, c.sa.Host)
	hung.forward.Store(true)
	a := c.startReplicaVia(t, "a", envA, hung.via(c))
	component.Eventually(t, 30*time.Second, "A raising minReplicas to 2", func() bool { n, orig := hpa(); return n == 2 && orig == "1" })

	hung.cut() // A can no longer renew the Lease
	load.Set(0)
	b := c.startReplica(t, "b", envB)
	component.Eventually(t, 30*time.Second, "B leading, A not", func() bool { return b.leader() && !a.leader() })
	component.Eventually(t, 30*time.Second, "B putting minReplicas back", func() bool { n, orig := hpa(); return n == 1 && orig == "" })

	hung.forward.Store(true)
	b.stop(t) // releases the Lease, at no load
	component.Eventually(t, 30*time.Second, "A leading again", func() bool { return a.leader() })
	load.Set(12)
	component.Eventually(t, 30*time.Second, "A raising minReplicas again", func() bool { n, orig := hpa(); return n == 2 && orig == "1" })

	load.Set(20) // above HIGH_RPS with 1 of 2 burst workers ready: A must wait for them
	component.Eventually(t, 30*time.Second, "20 req/s measured", func() bool { v, ok := a.metric("burster_observed_rps"); return ok && v > 16 })
	if got := c.weights(t); got != split.AllPrimary {
		t.Fatalf("A shifted to %v with 1 of 2 burst workers ready", got)
	}
	if st := status(t, a); prescaledTo(st.Destination("burst")) != 2 {
		t.Fatalf("A's status burst = %+v, want prescaledTo 2", st.Destination("burst"))
	}
}

// workerHPA creates the burst cluster's worker HPA (minReplicas 1, at most
// 10) in ns and returns a reader of its minReplicas and the value the
// burster recorded before raising it ("" when not raised).
func (b *burstCluster) workerHPA(t *testing.T, ns string) func() (int32, string) {
	t.Helper()
	ctx := context.Background()
	hpas := b.env.Clientset(t).AutoscalingV2().HorizontalPodAutoscalers(ns)
	if _, err := hpas.Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "worker"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "worker"},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 10,
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return func() (int32, string) {
		h, err := hpas.Get(ctx, "worker", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *h.Spec.MinReplicas, h.Annotations[prescale.OriginalAnnotation]
	}
}
