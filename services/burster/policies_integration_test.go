package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/app"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/kube"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
)

// switchPolicy bursts VirtualService vs all to burst above 15 req/s of
// load, back below 10, measured by scraping load.
func switchPolicy(name, vs string, load *promserver.Load, dwell string) *v1alpha1.BurstPolicy {
	return &v1alpha1.BurstPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.BurstPolicySpec{
			Route:        v1alpha1.Route{VirtualService: &v1alpha1.ObjectName{Name: vs}},
			Destinations: []v1alpha1.Destination{{Name: "primary", Subset: "primary"}, {Name: "burst", Subset: "burst"}},
			Measurement: v1alpha1.Measurement{Scrape: &v1alpha1.ScrapeMeasurement{
				URL: load.URL, Metric: "test_requests_total", Window: "2s"}},
			Strategy: v1alpha1.Strategy{Type: v1alpha1.StrategySwitch},
			Interval: "200ms", MinDwell: v1alpha1.Duration(dwell),
		},
	}
}

// policies is the namespace's BurstPolicies, as an admin reads them.
func (c *cluster) policies(t testing.TB) dynamic.ResourceInterface {
	t.Helper()
	return c.env.Dynamic(t).Resource(v1alpha1.GroupVersionResource).Namespace(c.ns)
}

func (c *cluster) createPolicy(t testing.TB, p *v1alpha1.BurstPolicy) {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.policies(t).Create(context.Background(), &unstructured.Unstructured{Object: m}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating policy %s: %v", p.Name, err)
	}
}

func (c *cluster) policy(t testing.TB, name string) *v1alpha1.BurstPolicy {
	t.Helper()
	u, err := c.policies(t).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var p v1alpha1.BurstPolicy
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// condition is the policy's condition of type typ, "" for its status when
// it has none.
func condition(p *v1alpha1.BurstPolicy, typ string) (status metav1.ConditionStatus, reason string) {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c.Status, c.Reason
		}
	}
	return "", ""
}

// vsWeights reads VirtualService name as an admin would.
func (c *cluster) vsWeights(t testing.TB, name string) split.Split {
	t.Helper()
	s, err := router.NewIstio(c.env.Dynamic(t), c.ns, name, router.TwoTargets("primary", "burst")).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// copyVS creates a copy of the worker VirtualService named name.
func (c *cluster) copyVS(t testing.TB, name string) {
	t.Helper()
	vs := kube.Objects(t, workerVS)[0]
	vs.SetName(name)
	if err := c.env.Create(context.Background(), c.ns, vs); err != nil {
		t.Fatal(err)
	}
}

// startPolicies runs the burster with POLICIES=kubernetes, as main does,
// as its ServiceAccount bound to the shipped Role: everything it does in
// these tests, the Role allows.
func (c *cluster) startPolicies(t testing.TB, name string) *replica {
	t.Helper()
	return c.startPoliciesVia(t, name, c.sa, nil)
}

// startPoliciesVia is startPolicies with the client configuration rc and
// the variables in env changed.
func (c *cluster) startPoliciesVia(t testing.TB, name string, rc *rest.Config, env map[string]string) *replica {
	t.Helper()
	vars := map[string]string{"PORT": "0", "POLICIES": "kubernetes"}
	for k, v := range env {
		vars[k] = v
	}
	cfg := testConfig(t, vars)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &process.Log{Keep: 1000}
	r := &replica{cancel: cancel, done: make(chan error, 1), logs: logs}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})).With("replica", name)
	go func() { r.done <- app.ServePolicies(ctx, cfg, log, rc, c.ns) }()
	t.Cleanup(func() {
		r.stop(t)
		if t.Failed() {
			for _, l := range logs.Lines() {
				t.Log(l)
			}
		}
	})
	component.EventuallyNil(t, 10*time.Second, name+" listening", func() error {
		addr, err := component.ListenAddr(logs.Lines())
		r.base = "http://" + addr
		return err
	})
	return r
}

// TestPoliciesRunSideBySide: one burster runs three policies on three
// routes, each from its own load, while a second waits as the standby. The third one's measurement hangs (its
// scrape target accepts connections and never answers): it says so in its
// conditions. The route of the second is deleted: its conditions say
// RouteNotFound. The first bursts and comes back all along.
func TestPoliciesRunSideBySide(t *testing.T) {
	c := newCluster(t)
	c.copyVS(t, "worker-b")
	c.copyVS(t, "worker-c")
	loadA, loadB := newLoadExporter(t, 2), newLoadExporter(t, 2)
	c.createPolicy(t, switchPolicy("a", "worker", loadA, "1s"))
	c.createPolicy(t, switchPolicy("b", "worker-b", loadB, "1s"))
	hung := startHangingServer(t, "127.0.0.1:1")
	pc := switchPolicy("c", "worker-c", loadB, "1s")
	pc.Spec.Measurement.Scrape.URL = "http://" + hung.ln.Addr().String() + "/metrics"
	c.createPolicy(t, pc)
	r := c.startPolicies(t, "replica")
	component.Eventually(t, 15*time.Second, "replica leads", r.leader)
	standby := c.startPolicies(t, "standby")

	component.EventuallyNil(t, 15*time.Second, "both policies ready and at home", func() error {
		for _, name := range []string{"a", "b"} {
			p := c.policy(t, name)
			if s, reason := condition(p, v1alpha1.ConditionReady); s != metav1.ConditionTrue {
				return fmt.Errorf("%s: Ready %s %s", name, s, reason)
			}
			if p.Status.Split != "100/0" || p.Status.Route == "" {
				return fmt.Errorf("%s: route %q split %q", name, p.Status.Route, p.Status.Split)
			}
		}
		return nil
	})

	// Steady, a policy's status is not written each interval: over ten
	// ticks of a, while its rate moves below its threshold, at most one
	// write (the measured values' refresh).
	stopWobble := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stopWobble:
				return
			case <-time.After(300 * time.Millisecond):
				loadA.Set(float64(2 + i%4))
			}
		}
	}()
	w, err := c.policies(t).Watch(context.Background(), metav1.ListOptions{FieldSelector: "metadata.name=a",
		ResourceVersion: c.policy(t, "a").ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	writes := make(chan int)
	go func() {
		n := 0
		for range w.ResultChan() {
			n++
		}
		writes <- n
	}()
	ticks := func() float64 {
		v, _ := r.metric(fmt.Sprintf(`burster_measurements_total{policy="%s/a"}`, c.ns))
		return v
	}
	from := ticks()
	component.Eventually(t, 10*time.Second, "ten ticks of a", func() bool { return ticks() >= from+10 })
	close(stopWobble)
	w.Stop()
	if n := <-writes; n > 1 {
		t.Fatalf("a's status was written %d times in ten steady ticks", n)
	}

	component.EventuallyNil(t, 15*time.Second, "c: its measurement failing", func() error {
		s, reason := condition(c.policy(t, "c"), v1alpha1.ConditionReady)
		if s != metav1.ConditionFalse || reason != string(v1alpha1.ReasonMeasurementFailed) {
			return fmt.Errorf("Ready %s %s", s, reason)
		}
		return nil
	})

	loadA.Set(30)
	component.Eventually(t, 15*time.Second, "a bursts", func() bool { return c.vsWeights(t, "worker") == split.AllBurst })
	component.EventuallyNil(t, 10*time.Second, "a's status tells it", func() error {
		p := c.policy(t, "a")
		if s, reason := condition(p, v1alpha1.ConditionBursting); s != metav1.ConditionTrue || reason != string(v1alpha1.ReasonSpilling) {
			return fmt.Errorf("Bursting %s %s", s, reason)
		}
		if p.Status.LastChangeTime == nil || len(p.Status.Changes) == 0 ||
			p.Status.Changes[len(p.Status.Changes)-1].Reason != v1alpha1.ChangeWeightsChanged {
			return fmt.Errorf("last change %v, changes %+v", p.Status.LastChangeTime, p.Status.Changes)
		}
		return nil
	})
	if got := c.vsWeights(t, "worker-b"); got != split.AllPrimary {
		t.Fatalf("b's route moved with a's load: %v", got)
	}

	// The status API carries the policy in the API's own shape: the
	// leader's status live, a standby's relayed from what the leader wrote.
	for _, tc := range []struct {
		r      *replica
		leader string
	}{{r, "true"}, {standby, "false"}} {
		component.EventuallyNil(t, 15*time.Second, "a bursting, as replica "+tc.leader+" serves it", func() error {
			code, leader, p := getPolicy(t, tc.r.base+bursterapi.StatusPath+"?policy=a")
			switch {
			case code != http.StatusOK || leader != tc.leader:
				return fmt.Errorf("%d, Burster-Leader %q", code, leader)
			case p.APIVersion != "cloudburst.dev/v1alpha1" || p.Kind != "BurstPolicy" || p.Name != "a" || p.Namespace != c.ns:
				return fmt.Errorf("served %s %s %s/%s", p.APIVersion, p.Kind, p.Namespace, p.Name)
			case p.Status.Split != "0/100" || p.Status.RateRPS == nil || p.Spec.Strategy.Type != v1alpha1.StrategySwitch:
				return fmt.Errorf("split %q, rate %v, strategy %q", p.Status.Split, p.Status.RateRPS, p.Spec.Strategy.Type)
			}
			return nil
		})
	}
	var changes v1alpha1.ChangeList
	component.GetJSON(t, r.base+bursterapi.ChangesPath+"?policy=a", &changes)
	if changes.Kind != v1alpha1.ChangeListKind || len(changes.Items) == 0 ||
		changes.Items[len(changes.Items)-1].Reason != v1alpha1.ChangeWeightsChanged {
		t.Fatalf("a's changes: %+v", changes)
	}
	for query, want := range map[string]int{
		"":              http.StatusBadRequest, // three policies: name one
		"?policy=x":     http.StatusNotFound,
		"?policy=Not_A": http.StatusBadRequest,
	} {
		if code, _, _ := getPolicy(t, r.base+bursterapi.StatusPath+query); code != want {
			t.Fatalf("GET %s%s: %d, want %d", bursterapi.StatusPath, query, code, want)
		}
	}

	if err := c.env.Dynamic(t).Resource(router.VirtualServices).Namespace(c.ns).Delete(context.Background(), "worker-b",
		metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	component.EventuallyNil(t, 15*time.Second, "b degraded: RouteNotFound", func() error {
		p := c.policy(t, "b")
		s, reason := condition(p, v1alpha1.ConditionDegraded)
		if s != metav1.ConditionTrue || reason != string(v1alpha1.ReasonRouteNotFound) {
			return fmt.Errorf("Degraded %s %s", s, reason)
		}
		if s, reason := condition(p, v1alpha1.ConditionReady); s != metav1.ConditionFalse || reason != string(v1alpha1.ReasonRouteNotFound) {
			return fmt.Errorf("Ready %s %s", s, reason)
		}
		return nil
	})

	loadA.Set(2)
	component.Eventually(t, 15*time.Second, "a back home while b is broken", func() bool { return c.vsWeights(t, "worker") == split.AllPrimary })
	if s, reason := condition(c.policy(t, "a"), v1alpha1.ConditionReady); s != metav1.ConditionTrue {
		t.Fatalf("a: Ready %s %s", s, reason)
	}

	// The standby measured nothing all along: it runs no policy.
	if v, ok := standby.metric("burster_leader"); !ok || v != 0 {
		t.Fatalf("the standby's burster_leader = %v (read: %v), want 0", v, ok)
	}
	if _, ok := standby.metric(fmt.Sprintf(`burster_measurements_total{policy="%s/a"}`, c.ns)); ok {
		t.Fatal("the standby measures a policy")
	}

	// A deleted policy leaves no series behind.
	series := fmt.Sprintf(`burster_measurements_total{policy="%s/c"}`, c.ns)
	if _, ok := r.metric(series); !ok {
		t.Fatalf("no %s while c runs", series)
	}
	if err := c.policies(t).Delete(context.Background(), "c", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	kept := fmt.Sprintf(`burster_measurements_total{policy="%s/a"}`, c.ns)
	component.Eventually(t, 10*time.Second, "c's metrics gone, a's kept", func() bool {
		_, gone := r.metric(series)
		_, ok := r.metric(kept)
		return !gone && ok
	})
}

// TestPolicyFailover: the leader moves the weights and stops right after;
// the replica that takes over finds the change's time and the learned
// capacity in the policy's status, and holds the weights until the dwell
// has passed since that change, though the load says go back at once.
func TestPolicyFailover(t *testing.T) {
	const dwell = 12 * time.Second
	c := newCluster(t)
	load := newLoadExporter(t, 30)
	c.createPolicy(t, switchPolicy("worker", "worker", load, dwell.String()))
	a := c.startPolicies(t, "replica-a")
	component.Eventually(t, 15*time.Second, "replica-a leads", a.leader)
	component.Eventually(t, 15*time.Second, "bursts", func() bool { return c.vsWeights(t, "worker") == split.AllBurst })
	var changed time.Time
	component.EventuallyNil(t, 10*time.Second, "the change's time in the status", func() error {
		p := c.policy(t, "worker")
		if p.Status.LastChangeTime == nil {
			return fmt.Errorf("no lastChangeTime")
		}
		changed = p.Status.LastChangeTime.Time
		return nil
	})

	// A learned capacity, as an slo leader would have written it.
	p := c.policy(t, "worker")
	p.Status.LearnedCapacityRPS = ptrTo(42.0)
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(p)
	if err != nil {
		t.Fatal(err)
	}
	a.stop(t) // releases the Lease
	if _, err := c.policies(t).UpdateStatus(context.Background(), &unstructured.Unstructured{Object: m}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	load.Set(2) // below lowRps: back home, once the dwell allows
	b := c.startPolicies(t, "replica-b")
	component.Eventually(t, 15*time.Second, "replica-b leads", b.leader)
	var back time.Time
	component.Eventually(t, dwell+15*time.Second, "back home", func() bool {
		if c.vsWeights(t, "worker") != split.AllPrimary {
			return false
		}
		back = time.Now()
		return true
	})
	// Polled every 20 ms, each read taking a few: the move came no
	// earlier than 0.1 s before back.
	if early := changed.Add(dwell).Sub(back.Add(100 * time.Millisecond)); early > 0 {
		t.Fatalf("the new leader moved the weights %s before the dwell since the recorded change had passed", early)
	}
	got := c.policy(t, "worker").Status
	if got.LearnedCapacityRPS == nil || *got.LearnedCapacityRPS != 42 {
		t.Fatalf("learned capacity after the failover = %v, want 42 (from the status)", got.LearnedCapacityRPS)
	}
	t.Logf("moved back %s after the recorded change (dwell %s)", back.Sub(changed).Round(100*time.Millisecond), dwell)
}

func ptrTo[T any](v T) *T { return &v }

// TestPolicyDriftPutBack: weights someone else writes into a policy's
// route are put back at once (the route's change brings a reconcile), told
// in the status's changes and as an event on the policy.
func TestPolicyDriftPutBack(t *testing.T) {
	c := newCluster(t)
	load := newLoadExporter(t, 30)
	c.createPolicy(t, switchPolicy("worker", "worker", load, "1s"))
	r := c.startPolicies(t, "replica")
	component.Eventually(t, 15*time.Second, "replica leads", r.leader)
	component.Eventually(t, 15*time.Second, "bursts", func() bool { return c.vsWeights(t, "worker") == split.AllBurst })

	admin := router.NewIstio(c.env.Dynamic(t), c.ns, "worker", router.TwoTargets("primary", "burst"))
	if _, err := admin.Set(context.Background(), split.WithBurst(50)); err != nil {
		t.Fatal(err)
	}
	component.Eventually(t, 10*time.Second, "weights put back", func() bool { return c.vsWeights(t, "worker") == split.AllBurst })
	component.EventuallyNil(t, 15*time.Second, "DriftCorrected in the status and as an event", func() error {
		p := c.policy(t, "worker")
		found := false
		for _, ch := range p.Status.Changes {
			found = found || ch.Reason == v1alpha1.ChangeDriftCorrected
		}
		if !found {
			return fmt.Errorf("changes %+v", p.Status.Changes)
		}
		evs, err := c.env.Clientset(t).EventsV1().Events(c.ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.Reason == string(v1alpha1.ChangeDriftCorrected) && e.Regarding.Kind == v1alpha1.Kind && e.Regarding.Name == "worker" {
				return nil
			}
		}
		return fmt.Errorf("no DriftCorrected event on the policy among %d", len(evs.Items))
	})
}

// TestPolicyDriftAfterAPIServerRestart: the API server restarts under a
// running burster, which reaches it through a proxy: its connections are
// cut as the restart begins, and new ones hang until it is back. Drift
// made right after the restart, while the manager's watches are down, is
// put back all the same. The leader keeps its Lease through the outage
// (its renew deadline here is 40 s; with the shipped 10 s, an outage that
// long ends its term and its process, as TestPolicyLeaderCutOff shows, and
// its Deployment starts it again). The cut comes first because envtest's
// API server waits for a controller's open requests past its stop timeout.
func TestPolicyDriftAfterAPIServerRestart(t *testing.T) {
	c := newCluster(t)
	load := newLoadExporter(t, 30)
	c.createPolicy(t, switchPolicy("worker", "worker", load, "1s"))
	proxy := startHangingServer(t, c.sa.Host)
	proxy.forward.Store(true)
	r := c.startPoliciesVia(t, "replica", proxy.via(c), map[string]string{"LEASE_DURATION": "60s", "RENEW_DEADLINE": "40s", "RETRY_PERIOD": "2s"})
	component.Eventually(t, 15*time.Second, "replica leads", r.leader)
	component.Eventually(t, 15*time.Second, "bursts", func() bool { return c.vsWeights(t, "worker") == split.AllBurst })

	restarted := time.Now()
	proxy.cut()
	drifted := c.restartAndDrift(t)
	proxy.forward.Store(true)
	// A watch left hanging on a cut connection is found dead by client-go's
	// HTTP/2 health check (a ping after 30 s idle, 15 s for its answer),
	// so the drift may wait that long for the watch to come back.
	component.Eventually(t, 60*time.Second, "weights put back", func() bool { return c.vsWeights(t, "worker") == split.AllBurst })
	t.Logf("API server away for %s; drift put back %s after it was made", drifted.Sub(restarted).Round(10*time.Millisecond),
		time.Since(drifted).Round(10*time.Millisecond))
	select {
	case err := <-r.done:
		t.Fatalf("the burster stopped: %v", err)
	default:
	}
}

// TestPolicyLeaderCutOff: the leader is cut off from the API server (its
// connections hang). It cannot renew the Lease, stops, and says why; the
// standby takes over and moves the weights. Once the API server can be
// reached again, the old leader writes nothing: it is gone, to be started
// again by its Deployment.
func TestPolicyLeaderCutOff(t *testing.T) {
	c := newCluster(t)
	load := newLoadExporter(t, 30)
	c.createPolicy(t, switchPolicy("worker", "worker", load, "1s"))
	hung := startHangingServer(t, c.env.Config.Host)
	hung.forward.Store(true)
	via := rest.CopyConfig(c.sa)
	via.Host = "https://" + hung.ln.Addr().String() // the API server's certificate names 127.0.0.1 too
	a := c.startPoliciesVia(t, "replica-a", via, nil)
	component.Eventually(t, 15*time.Second, "replica-a leads", a.leader)
	component.Eventually(t, 15*time.Second, "bursts", func() bool { return c.vsWeights(t, "worker") == split.AllBurst })
	b := c.startPolicies(t, "replica-b")

	hung.cut()
	select {
	case err := <-a.done:
		if err == nil || !strings.Contains(err.Error(), "leader election lost") {
			t.Fatalf("replica-a stopped with %v, want the lost election", err)
		}
		a.cancel() // stopped already
		a.cancel = nil
	case <-time.After(20 * time.Second):
		t.Fatal("replica-a still runs 20 s after it was cut off")
	}
	component.Eventually(t, 15*time.Second, "replica-b takes over", b.leader)
	load.Set(2)
	component.Eventually(t, 15*time.Second, "replica-b moves the weights home", func() bool {
		return c.vsWeights(t, "worker") == split.AllPrimary
	})
	hung.forward.Store(true)
	load.Set(30) // replica-b bursts again: its own write, after a dwell
	component.Eventually(t, 15*time.Second, "replica-b bursts again", func() bool { return c.vsWeights(t, "worker") == split.AllBurst })
}

// TestPolicyReadinessGate: a policy reads the burst cluster's readiness
// through a kubeconfig in a Secret (burster-remote's token, as the shipped
// burst-side Role allows): no weight goes there while it has no ready
// worker, and the status says why; once it has one the load bursts, and as
// soon as it has none again everything comes back, whatever the dwell. A
// policy naming a Secret the burster may not read (the shipped Role allows
// one) says so and runs nothing.
func TestPolicyReadinessGate(t *testing.T) {
	c := newCluster(t)
	b := newBurstCluster(t, c, workerSlice(false))
	ctx := context.Background()
	b.kubeconfigSecret(t, c, shippedKubeconfigSecret)
	load := newLoadExporter(t, 30)
	p := switchPolicy("worker", "worker", load, "30s")
	p.Spec.Destinations[1].Readiness = &v1alpha1.Readiness{Service: "worker",
		KubeconfigSecret: &v1alpha1.SecretKeyRef{Name: shippedKubeconfigSecret}}
	c.createPolicy(t, p)
	c.copyVS(t, "worker-b")
	missing := switchPolicy("missing", "worker-b", load, "30s")
	missing.Spec.Destinations[1].Readiness = &v1alpha1.Readiness{Service: "worker",
		KubeconfigSecret: &v1alpha1.SecretKeyRef{Name: "no-such-secret"}}
	c.createPolicy(t, missing)
	r := c.startPolicies(t, "replica")
	component.Eventually(t, 15*time.Second, "replica leads", r.leader)

	component.EventuallyNil(t, 15*time.Second, "held at home: burst has no ready worker", func() error {
		got := c.policy(t, "worker")
		if s, reason := condition(got, v1alpha1.ConditionDegraded); s != metav1.ConditionTrue || reason != string(v1alpha1.ReasonBurstNotReady) {
			return fmt.Errorf("Degraded %s %s", s, reason)
		}
		if d := got.Status.Destinations; len(d) != 2 || d[1].ReadyEndpoints == nil || *d[1].ReadyEndpoints != 0 {
			return fmt.Errorf("destinations %+v", d)
		}
		return nil
	})
	if got := c.vsWeights(t, "worker"); got != split.AllPrimary {
		t.Fatalf("weights moved to a burst cluster without a ready worker: %v", got)
	}
	component.EventuallyNil(t, 10*time.Second, "missing: its Secret named", func() error {
		s, reason := condition(c.policy(t, "missing"), v1alpha1.ConditionReady)
		msg := ""
		for _, cond := range c.policy(t, "missing").Status.Conditions {
			if cond.Type == v1alpha1.ConditionReady {
				msg = cond.Message
			}
		}
		if s != metav1.ConditionFalse || reason != string(v1alpha1.ReasonInvalid) || !strings.Contains(msg, "no-such-secret") {
			return fmt.Errorf("Ready %s %s %q", s, reason, msg)
		}
		return nil
	})
	// Tried again each 200 ms interval, it is logged once, not each time.
	time.Sleep(2 * time.Second)
	cannot := 0
	for _, l := range r.logs.Lines() {
		if strings.Contains(l, `"msg":"the policy cannot run"`) && strings.Contains(l, "/missing") {
			cannot++
		}
	}
	if cannot != 1 {
		t.Fatalf("%d warnings that missing cannot run over its tries, want 1", cannot)
	}

	slices := b.env.Clientset(t).DiscoveryV1().EndpointSlices(c.ns)
	setReady := func(ready bool) {
		slice, err := slices.Get(ctx, "worker-abc", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		slice.Endpoints[0].Conditions.Ready = &ready
		if _, err := slices.Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setReady(true)
	component.Eventually(t, 15*time.Second, "bursts once burst has a ready worker", func() bool { return c.vsWeights(t, "worker") == split.AllBurst })
	setReady(false)
	component.Eventually(t, 10*time.Second, "home at once, whatever the 30 s dwell", func() bool {
		return c.vsWeights(t, "worker") == split.AllPrimary
	})
}

// TestPolicyPrescale: a policy pre-scales the burst cluster's HPA through
// its kubeconfig Secret: from warmRps on minReplicas is raised to the
// workers the rate needs; the first shift waits until they are ready; once
// the load is gone and the cool-down has passed, the value found is put
// back.
func TestPolicyPrescale(t *testing.T) {
	c := newCluster(t)
	b := newBurstCluster(t, c, workerSlice(true))
	hpa := b.workerHPA(t, c.ns)
	ctx := context.Background()
	b.kubeconfigSecret(t, c, shippedKubeconfigSecret)
	load := newLoadExporter(t, 5)
	p := switchPolicy("worker", "worker", load, "1s")
	p.Spec.Strategy.CapacityPerEndpointRPS = 12
	p.Spec.Destinations[1].Readiness = &v1alpha1.Readiness{Service: "worker",
		KubeconfigSecret: &v1alpha1.SecretKeyRef{Name: shippedKubeconfigSecret}}
	p.Spec.Destinations[1].Prescale = &v1alpha1.Prescale{HPA: "worker", WarmRPS: 8, Cooldown: "2s", Wait: "60s"}
	c.createPolicy(t, p)
	r := c.startPolicies(t, "replica")
	component.Eventually(t, 15*time.Second, "replica leads", r.leader)
	rate := func() float64 {
		v, _ := r.metric(fmt.Sprintf(`burster_observed_rps{policy="%s/worker"}`, c.ns))
		return v
	}
	component.Eventually(t, 30*time.Second, "the idle rate measured", func() bool { v := rate(); return v > 3 && v < 7 })
	if n, orig := hpa(); n != 1 || orig != "" {
		t.Fatalf("at 5 req/s the HPA has minReplicas %d (original %q)", n, orig)
	}

	load.Set(12) // warm: the burst would need ceil(15/12) = 2 workers
	component.Eventually(t, 30*time.Second, "minReplicas 2 at 12 req/s", func() bool { n, orig := hpa(); return n == 2 && orig == "1" })
	load.Set(30) // ceil(30/12) = 3; one ready
	component.Eventually(t, 30*time.Second, "minReplicas 3 at 30 req/s", func() bool { n, _ := hpa(); return n == 3 })
	component.Eventually(t, 30*time.Second, "30 req/s measured", func() bool { return rate() > 25 })
	if got := c.vsWeights(t, "worker"); got != split.AllPrimary {
		t.Fatalf("shifted with 1 of 3 burst workers ready: %v", got)
	}
	slices := b.env.Clientset(t).DiscoveryV1().EndpointSlices(c.ns)
	if _, err := slices.Update(ctx, workerSlice(true, true, true), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	component.Eventually(t, 30*time.Second, "the shift once 3 workers are ready", func() bool {
		return c.vsWeights(t, "worker") == split.AllBurst
	})

	load.Set(0)
	component.Eventually(t, 30*time.Second, "all back home", func() bool { return c.vsWeights(t, "worker") == split.AllPrimary })
	back := time.Now()
	component.Eventually(t, 30*time.Second, "minReplicas restored", func() bool { n, orig := hpa(); return n == 1 && orig == "" })
	if d := time.Since(back); d < 1500*time.Millisecond {
		t.Fatalf("restored %s after the return, before the 2s cool-down", d)
	}
}

// shippedKubeconfigSecret is the one Secret the shipped Role lets the
// burster read: make clusters writes the burst cluster's kubeconfig there.
const shippedKubeconfigSecret = "burster-burst-kubeconfig"

// kubeconfigSecret puts the burst cluster's kubeconfig (burster-remote's
// token) into a Secret called name in c's namespace, under the key
// kubeconfig, as a policy's kubeconfigSecret reads it.
func (b *burstCluster) kubeconfigSecret(t *testing.T, c *cluster, name string) {
	t.Helper()
	kubeconfig, err := os.ReadFile(b.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.env.Clientset(t).CoreV1().Secrets(c.ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{"kubeconfig": kubeconfig},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// getPolicy GETs a policy from a burster's status API: the answer's
// code, its Burster-Leader, and the policy when the code is 200.
func getPolicy(t *testing.T, url string) (int, string, v1alpha1.BurstPolicy) {
	t.Helper()
	var p v1alpha1.BurstPolicy
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
	return resp.StatusCode, resp.Header.Get(bursterapi.LeaderHeader), p
}
