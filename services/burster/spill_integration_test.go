package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// threeTargets are the worker's three clusters, as the route names them.
var threeTargets = []router.Target{{Name: "primary", Ref: "primary"}, {Name: "burst", Ref: "burst"}, {Name: "burst-2", Ref: "burst-2"}}

func threeWay(p, b, e int) split.Split {
	return split.Of(split.Share{Name: "primary", Weight: p}, split.Share{Name: "burst", Weight: b}, split.Share{Name: "burst-2", Weight: e})
}

// threeClusterVS is a VirtualService routing the worker to three subsets,
// one per cluster, all at home.
func threeClusterVS(name string) *unstructured.Unstructured {
	dest := func(subset string, weight int64) any {
		return map[string]any{"destination": map[string]any{"host": "worker", "subset": subset}, "weight": weight}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{"hosts": []any{"worker"}, "http": []any{
			map[string]any{"name": "default", "route": []any{dest("primary", 100), dest("burst", 0), dest("burst-2", 0)}},
		}},
	}}
}

// serviceSlice is an EndpointSlice of Service svc with one endpoint per
// entry of ready.
func serviceSlice(svc string, ready ...bool) *discoveryv1.EndpointSlice {
	s := workerSlice(ready...)
	s.Name, s.Labels[discoveryv1.LabelServiceName] = svc+"-abc", svc
	return s
}

// TestPolicySpillsAcrossThree: a spillover policy across three clusters,
// against a real API server. At 50 req/s home keeps its 20, burst its 20
// and the third takes the rest, all three weights written in one update of
// the VirtualService. Burst losing its ready worker sends its share on to
// the third at once (within the 10 s dwell since the last change), and the
// status names it; ready again, burst takes its share back once the dwell
// has passed; as the load falls the last empties first, then the next.
func TestPolicySpillsAcrossThree(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	if err := c.env.Create(ctx, c.ns, threeClusterVS("worker-3")); err != nil {
		t.Fatal(err)
	}
	slices := c.env.Clientset(t).DiscoveryV1().EndpointSlices(c.ns)
	for _, s := range []*discoveryv1.EndpointSlice{serviceSlice("worker-burst", true), serviceSlice("worker-burst-2", true)} {
		if _, err := slices.Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	load := newLoadExporter(t, 50)
	const dwell = 10 * time.Second
	p := switchPolicy("worker", "worker-3", load, dwell.String())
	p.Spec.Strategy = v1alpha1.Strategy{Type: v1alpha1.StrategySpillover, CapacityRPS: 20, Step: 10}
	p.Spec.Destinations = []v1alpha1.Destination{
		{Name: "primary", Subset: "primary"},
		{Name: "burst", Subset: "burst", CapacityRPS: ptrTo(20.0), Readiness: &v1alpha1.Readiness{Service: "worker-burst"}},
		{Name: "burst-2", Subset: "burst-2", Readiness: &v1alpha1.Readiness{Service: "worker-burst-2"}},
	}
	c.createPolicy(t, p)
	r := c.startPolicies(t, "replica")
	component.Eventually(t, 15*time.Second, "replica leads", r.leader)
	weights := func() split.Split {
		s, err := router.NewIstio(c.env.Dynamic(t), c.ns, "worker-3", threeTargets).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	settle := func(what string, want split.Split, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		component.EventuallyNil(t, within, what, func() error {
			if got := weights(); got != want {
				return fmt.Errorf("weights %v, want %v", got, want)
			}
			return nil
		})
		return time.Since(start)
	}

	took := settle("40/40/20 at 50 req/s", threeWay(40, 40, 20), 30*time.Second)
	t.Logf("spilled across three in %s", took.Round(time.Millisecond))
	component.EventuallyNil(t, 10*time.Second, "the status of three destinations", func() error {
		got := c.policy(t, "worker").Status
		if len(got.Weights) != 3 || v1alpha1.Weight(got.Weights, "burst-2") != 20 {
			return fmt.Errorf("weights %+v", got.Weights)
		}
		if d := got.Destination("burst-2"); d == nil || d.ReadyEndpoints == nil || *d.ReadyEndpoints != 1 {
			return fmt.Errorf("burst-2's status %+v", d)
		}
		if msg := conditionMessage(got, v1alpha1.ConditionBursting); msg != "40% goes to burst, 20% to burst-2" {
			return fmt.Errorf("Bursting %q", msg)
		}
		return nil
	})

	setReady := func(svc string, ready bool) {
		t.Helper()
		if _, err := slices.Update(ctx, serviceSlice(svc, ready), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setReady("worker-burst", false)
	took = settle("burst's share on to burst-2", threeWay(40, 0, 60), 5*time.Second)
	t.Logf("burst's share moved on %s after its worker turned unready", took.Round(time.Millisecond))
	component.EventuallyNil(t, 10*time.Second, "Degraded names burst", func() error {
		got := c.policy(t, "worker")
		moves := got.Status.Changes // the first spill, then the move off burst
		if len(moves) < 2 || moves[len(moves)-1].Reason != v1alpha1.ChangeBurstNotReady || v1alpha1.Weight(moves[len(moves)-1].Weights, "burst-2") != 60 {
			return fmt.Errorf("changes %+v", got.Status.Changes)
		}
		if gap := moves[len(moves)-1].Time.Sub(moves[len(moves)-2].Time.Time); gap >= dwell {
			t.Fatalf("the move off burst came %s after the last change: it waited for the %s dwell", gap, dwell)
		}
		if s, reason := condition(got, v1alpha1.ConditionDegraded); s != metav1.ConditionTrue || reason != string(v1alpha1.ReasonBurstNotReady) ||
			!strings.HasPrefix(conditionMessage(got.Status, v1alpha1.ConditionDegraded), "burst has no ready worker") {
			return fmt.Errorf("Degraded %s %s %q", s, reason, conditionMessage(got.Status, v1alpha1.ConditionDegraded))
		}
		return nil
	})

	ready := func(dest string) float64 {
		v, _ := r.metric(fmt.Sprintf(`burster_destination_ready_endpoints{destination=%q,policy="%s/worker"}`, dest, c.ns))
		return v
	}
	if b, b2 := ready("burst"), ready("burst-2"); b != 0 || b2 != 1 {
		t.Fatalf("burster_destination_ready_endpoints: burst %v, burst-2 %v; want 0 and 1", b, b2)
	}
	setReady("worker-burst", true)
	// Back to burst once the dwell since the last change has passed.
	settle("burst takes its share back", threeWay(40, 40, 20), 45*time.Second)

	load.Set(30)
	settle("the last empties first", threeWay(70, 30, 0), 45*time.Second)
	load.Set(10)
	settle("then the next", threeWay(100, 0, 0), 45*time.Second)
}

// conditionMessage is the message of the status' condition typ; "" when it
// has none.
func conditionMessage(s v1alpha1.BurstPolicyStatus, typ string) string {
	for _, c := range s.Conditions {
		if c.Type == typ {
			return c.Message
		}
	}
	return ""
}

// TestPolicyPrescalesEachDestination: under slo across three clusters,
// burst and burst-2 are each pre-scaled in their own cluster, through
// their own kubeconfig Secrets (the shipped Roles let the burster read
// those two alone): each HPA is raised once the rate reaches that
// destination's warm rate, to the workers the rate needs, and each is put
// back after its own cool-down once the rate is below its warm rate. The
// status and the metrics show each raise. (No latency is measured here, so
// the split holds at home: the gate that keeps a shift off a destination
// until its raised workers are ready is TestPrescaleFurther's.)
func TestPolicyPrescalesEachDestination(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	if err := c.env.Create(ctx, c.ns, rbacIn(t, filepath.Join("..", "..", "k8s", "overlays", "three", "primary", "rbac-burst-2.yaml"), c.ns)...); err != nil {
		t.Fatal(err)
	}
	if err := c.env.Create(ctx, c.ns, threeClusterVS("worker-3")); err != nil {
		t.Fatal(err)
	}
	b1, b2 := newBurstCluster(t, c, workerSlice(true)), newBurstCluster(t, c, workerSlice(true))
	hpa1, hpa2 := b1.workerHPA(t, c.ns), b2.workerHPA(t, c.ns)
	b1.kubeconfigSecret(t, c, shippedKubeconfigSecret)
	b2.kubeconfigSecret(t, c, "burster-burst-2-kubeconfig")

	load := newLoadExporter(t, 5)
	p := switchPolicy("worker", "worker-3", load, "1s")
	m := p.Spec.Measurement.Scrape
	m.LatencyMetric, m.DestinationLabel, m.CodeLabel = "test_request_duration_milliseconds", "destination", "code" // never served: no latency
	p.Spec.Strategy = v1alpha1.Strategy{Type: v1alpha1.StrategySLO, CapacityPerEndpointRPS: 5, SLO: &v1alpha1.SLO{Window: "4s"}}
	remote := func(name, secret string, warm float64) v1alpha1.Destination {
		return v1alpha1.Destination{Name: name, Subset: name,
			Readiness: &v1alpha1.Readiness{Service: "worker", KubeconfigSecret: &v1alpha1.SecretKeyRef{Name: secret}},
			Prescale:  &v1alpha1.Prescale{HPA: "worker", WarmRPS: warm, Cooldown: "2s", Wait: "60s"}}
	}
	p.Spec.Destinations = []v1alpha1.Destination{{Name: "primary", Subset: "primary"},
		remote("burst", shippedKubeconfigSecret, 8), remote("burst-2", "burster-burst-2-kubeconfig", 20)}
	c.createPolicy(t, p)
	r := c.startPolicies(t, "replica")
	component.Eventually(t, 15*time.Second, "replica leads", r.leader)
	metric := func(name, dest string) float64 {
		v, _ := r.metric(fmt.Sprintf(`%s{destination=%q,policy="%s/worker"}`, name, dest, c.ns))
		return v
	}
	rate := func() float64 {
		v, _ := r.metric(fmt.Sprintf(`burster_observed_rps{policy="%s/worker"}`, c.ns))
		return v
	}
	component.Eventually(t, 30*time.Second, "the idle rate measured", func() bool { v := rate(); return v > 3 && v < 7 })
	for i, hpa := range []func() (int32, string){hpa1, hpa2} {
		if n, orig := hpa(); n != 1 || orig != "" {
			t.Fatalf("destination %d's HPA at 5 req/s: minReplicas %d (original %q)", i+1, n, orig)
		}
	}

	load.Set(12) // burst warm: ceil(12/5) = 3 workers; burst-2 not (20)
	component.Eventually(t, 30*time.Second, "burst's minReplicas 3 at 12 req/s", func() bool { n, orig := hpa1(); return n == 3 && orig == "1" })
	component.Eventually(t, 30*time.Second, "12 req/s measured", func() bool { return rate() > 11 })
	if n, orig := hpa2(); n != 1 || orig != "" {
		t.Fatalf("burst-2's HPA raised below its warm rate: minReplicas %d (original %q)", n, orig)
	}

	load.Set(30) // both warm: ceil(30/5) = 6 workers each, more as the measured rate runs over 30
	hpas := []struct {
		name string
		hpa  func() (int32, string)
	}{{"burst", hpa1}, {"burst-2", hpa2}}
	for _, h := range hpas {
		component.Eventually(t, 30*time.Second, h.name+"'s minReplicas 6 or more at 30 req/s", func() bool { n, orig := h.hpa(); return n >= 6 && orig == "1" })
	}
	component.EventuallyNil(t, 10*time.Second, "each raise in the status and the metrics", func() error {
		st := c.policy(t, "worker").Status
		for _, h := range hpas {
			n, _ := h.hpa()
			if got := prescaledTo(st.Destination(h.name)); got != n {
				return fmt.Errorf("status %s prescaledTo %d, its HPA's minReplicas %d", h.name, got, n)
			}
			if got := metric("burster_destination_prescaled_min_replicas", h.name); got != float64(n) {
				return fmt.Errorf("burster_destination_prescaled_min_replicas{%s} %v, its HPA's minReplicas %d", h.name, got, n)
			}
		}
		return nil
	})
	// Each raise is a change of the policy, as the status API lists them.
	var changes v1alpha1.ChangeList
	component.GetJSON(t, r.base+bursterapi.ChangesPath+"?policy=worker", &changes)
	var raised []string
	for _, ch := range changes.Items {
		if ch.Reason == v1alpha1.ChangePreScaled {
			raised = append(raised, ch.Message)
		}
	}
	if !slices.ContainsFunc(raised, func(m string) bool {
		return strings.HasPrefix(m, "raised the burst-2 HorizontalPodAutoscaler worker's minReplicas from 1 to ")
	}) {
		t.Fatalf("PreScaled changes %q, want one raising burst-2's", raised)
	}

	// Below burst-2's warm rate, still above burst's: burst-2's HPA alone
	// is put back after its cool-down.
	load.Set(12)
	component.Eventually(t, 30*time.Second, "burst-2's minReplicas restored", func() bool { n, orig := hpa2(); return n == 1 && orig == "" })
	if n, orig := hpa1(); n < 6 || orig != "1" {
		t.Fatalf("burst's HPA while it is still warm: minReplicas %d (original %q), want 6 or more (1)", n, orig)
	}
	if w, err := router.NewIstio(c.env.Dynamic(t), c.ns, "worker-3", threeTargets).Get(ctx); err != nil || w != threeWay(100, 0, 0) {
		t.Fatalf("the split moved without a latency measured: %v (%v)", w, err)
	}
	load.Set(5)
	component.Eventually(t, 30*time.Second, "burst's minReplicas restored", func() bool { n, orig := hpa1(); return n == 1 && orig == "" })
}
