package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/mesh"
	"github.com/cloudburst-demo/cloudburst/testkit/mesh/xds"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
)

// burstTimes is how long one burst took to reach the frontend's sidecar.
type burstTimes struct {
	// StepToPush: from the rate stepping over HIGH_RPS to istiod's push of
	// the new route to the sidecar. WriteToPush: from the write of the
	// VirtualService or HTTPRoute (seen by a watch) to that push.
	StepToPush, WriteToPush time.Duration
}

// burstAtSidecar runs the real burster binary with its Deployment's
// configuration from the primary overlay, authenticated as its
// ServiceAccount against the primary API server, reading the rate from a
// real Prometheus. The rate is Istio's istio_requests_total as the
// frontend's sidecar would report it: under the Service that istiod's
// cluster metadata names for each share (worker for both subsets,
// worker-primary and worker-burst for the HTTPRoute). It steps from 5/s to
// 30/s (HIGH_RPS is 15): the frontend's sidecar must be told to send
// everything to burst. Then the 30/s move to the burst share's series and
// the burster must go on counting them; then the rate drops to 0 and the
// sidecar must be told to send everything back. Every other field of the
// moved object must have survived.
func burstAtSidecar(tb testing.TB, api trafficAPI, primary, burst *mesh.Cluster, frontend *xds.Client) burstTimes {
	tb.Helper()
	ctx := context.Background()
	if err := frontend.Wait(ctx, pushTimeout, routeIs(api.wantRoute(100, 0))); err != nil {
		tb.Fatalf("before the step: %v", err)
	}
	loads := map[string]*promserver.Load{}
	var targets []string
	for _, share := range []string{"primary", "burst"} {
		name, err := serviceName(frontend.Snapshot(), api.sidecarCluster(share))
		if err != nil {
			tb.Fatal(err)
		}
		for _, code := range []string{"200", "503"} {
			key := share
			if code != "200" {
				key += "-" + code
			}
			loads[key] = promserver.NewLoad(tb, fmt.Sprintf(
				`istio_requests_total{reporter="source",source_workload="frontend",destination_service_name=%q,response_code=%q}`, name, code), 0)
			targets = append(targets, loads[key].Host())
		}
	}
	loads["primary"].Set(5)
	prom := promserver.Start(tb, targets...)
	burster := startBurster(tb, primary, burst, prom.URL)
	before := userFields(tb, primary, api)

	// Steady first: the burster measures the idle rate over a full window.
	burster.eventuallyMeasures(tb, 5, "the idle rate")
	written := watchWeights(tb, api, primary, 0, 100)

	step := time.Now()
	loads["primary"].Set(30)
	var pushed time.Time
	err := frontend.Wait(ctx, 60*time.Second, func(s xds.Snapshot) error {
		pushed = s.Received[xds.RouteType]
		return routeIs(api.wantRoute(0, 100))(s)
	})
	if err != nil {
		tb.Fatalf("the burst never reached the frontend's sidecar: %v", err)
	}
	var writtenAt time.Time
	select {
	case writtenAt = <-written:
	case <-time.After(10 * time.Second):
		tb.Fatalf("the sidecar was told 0/100 but no %s write was seen", api.kind)
	}

	// The requests now go to burst, and are reported under its Service.
	moved := time.Now()
	loads["primary"].Set(0)
	loads["burst"].Set(30)
	component.EventuallyNil(tb, 60*time.Second, "the burster counts the burst share", func() error {
		if elapsed := time.Since(moved); elapsed < burster.window {
			return fmt.Errorf("the rate window still holds primary's requests (%s of %s)", elapsed.Round(time.Second), burster.window)
		}
		return burster.measures(30)
	})
	if err := frontend.Wait(ctx, time.Second, routeIs(api.wantRoute(0, 100))); err != nil {
		tb.Fatalf("the burster returned while the burst carried the load: %v", err)
	}
	if burster.destinations {
		burster.failingBurst(tb, primary, api, loads["burst"], loads["burst-503"])
		if err := frontend.Wait(ctx, time.Second, routeIs(api.wantRoute(0, 100))); err != nil {
			tb.Fatalf("a failing burst moved the weights: %v", err)
		}
	}

	loads["burst"].Set(0)
	if err := frontend.Wait(ctx, 90*time.Second, routeIs(api.wantRoute(100, 0))); err != nil {
		tb.Fatalf("the return never reached the frontend's sidecar: %v", err)
	}
	component.EventuallyNil(tb, 10*time.Second, "every other field as it was", func() error {
		return sameFields(before, userFields(tb, primary, api))
	})
	if events, err := policyEvents(tb, primary, "WeightsChanged"); err != nil || len(events) == 0 {
		tb.Fatalf("no WeightsChanged event on the worker's BurstPolicy: %v", err)
	}
	return burstTimes{StepToPush: pushed.Sub(step), WriteToPush: pushed.Sub(writtenAt)}
}

// userFields is what a user of the worker object wrote: its spec, labels
// and annotations (not its status, which istiod writes).
func userFields(tb testing.TB, c *mesh.Cluster, api trafficAPI) map[string]any {
	tb.Helper()
	o, err := c.API.Dynamic(tb).Resource(api.gvr).Namespace(namespace).Get(context.Background(), "worker", metav1.GetOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return map[string]any{"spec": o.Object["spec"], "labels": o.GetLabels(), "annotations": o.GetAnnotations()}
}

// sameFields compares two decoded objects field by field and names every
// path where they differ.
func sameFields(want, got map[string]any) error {
	var diffs []string
	var walk func(path string, a, b any)
	walk = func(path string, a, b any) {
		switch a := a.(type) {
		case map[string]any:
			b, ok := b.(map[string]any)
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s: %v, want %v", path, b, a))
				return
			}
			for k := range a {
				walk(path+"."+k, a[k], b[k])
			}
			for k := range b {
				if _, ok := a[k]; !ok {
					diffs = append(diffs, fmt.Sprintf("%s.%s: added %v", path, k, b[k]))
				}
			}
		case []any:
			b, ok := b.([]any)
			if !ok || len(a) != len(b) {
				diffs = append(diffs, fmt.Sprintf("%s: %v, want %v", path, b, a))
				return
			}
			for i := range a {
				walk(fmt.Sprintf("%s[%d]", path, i), a[i], b[i])
			}
		default:
			if !reflect.DeepEqual(a, b) {
				diffs = append(diffs, fmt.Sprintf("%s: %v, want %v", path, b, a))
			}
		}
	}
	walk("", want, got)
	if len(diffs) > 0 {
		slices.Sort(diffs)
		return fmt.Errorf("changed: %s", strings.Join(diffs, "; "))
	}
	return nil
}

// watchWeights reports when a watch of the worker object in the cluster
// first sees the given weights.
func watchWeights(tb testing.TB, api trafficAPI, c *mesh.Cluster, primary, burst int64) <-chan time.Time {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	w, err := c.API.Dynamic(tb).Resource(api.gvr).Namespace(namespace).Watch(ctx,
		metav1.ListOptions{FieldSelector: "metadata.name=worker"})
	if err != nil {
		tb.Fatal(err)
	}
	seen := make(chan time.Time, 1)
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			if ev.Type != watch.Modified && ev.Type != watch.Added {
				continue
			}
			p, b, err := api.weights(ev.Object.(*unstructured.Unstructured).Object)
			if err == nil && p == primary && b == burst {
				seen <- time.Now()
				return
			}
		}
	}()
	return seen
}

// bursterProcess is the running burster binary.
type bursterProcess struct {
	base string
	// window is its policy's query's rate window.
	window time.Duration
	// destinations: it is configured to tell the destinations apart.
	destinations bool
	// policy is the policy it runs, namespace/name, as its metrics label it.
	policy string
}

// failingBurst: the burst share's requests, 30/s counted under its Service,
// turn from 200s into 503s (what a sidecar reports when the backend has no
// healthy endpoint). The burster, through the real Prometheus and the
// overlay's DESTINATIONS_QUERY, must first measure them as burst's, then
// show burst failing in its status with a DestinationFailing event on the
// routing object, and leave the weights alone.
func (b *bursterProcess) failingBurst(tb testing.TB, c *mesh.Cluster, api trafficAPI, ok, failing *promserver.Load) {
	tb.Helper()
	component.EventuallyNil(tb, 60*time.Second, "the burster measures burst's traffic", func() error {
		rps, err := b.metric("burster_destination_rps", `destination="burst"`)
		if err != nil || rps < 27 || rps > 33 {
			return fmt.Errorf("burster_destination_rps{burst} %v (%v), want about 30", rps, err)
		}
		return nil
	})
	ok.Set(0)
	failing.Set(30)
	component.EventuallyNil(tb, 60*time.Second, "the burster shows burst failing", func() error {
		resp, err := http.Get(b.base + bursterapi.StatusPath)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var p v1alpha1.BurstPolicy
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			return err
		}
		if burst, home := p.Status.Destination("burst"), p.Status.Destination("primary"); burst == nil || home == nil || !burst.Failing || home.Failing {
			return fmt.Errorf("destinations %+v", p.Status.Destinations)
		}
		return nil
	})
	// Events are written asynchronously, after the status.
	component.EventuallyNil(tb, 10*time.Second, "a DestinationFailing event on the worker's BurstPolicy", func() error {
		events, err := policyEvents(tb, c, "DestinationFailing")
		if err != nil || len(events) == 0 || !strings.Contains(events[0].Message, "burst is failing") {
			return fmt.Errorf("none yet (%v)", err)
		}
		return nil
	})
	failing.Set(0)
	ok.Set(30)
}

// startBurster builds and runs the burster with the environment of its
// Deployment in the primary overlay, on the worker's BurstPolicy as that
// overlay renders it; only what a pod gets from its surroundings differs:
// its port, name and namespace, a kubeconfig holding its ServiceAccount's
// token, the Prometheus address in the policy, and the burst cluster's
// kubeconfig (holding burster-remote's token there) in the Secret the
// policy names, as make clusters writes it.
func startBurster(tb testing.TB, primary, burst *mesh.Cluster, prometheus string) *bursterProcess {
	tb.Helper()
	return startBursterOf(tb, primary.Spec.Objects, primary, burst, prometheus, nil)
}

// bursterDeployment is the burster's Deployment among rendered objects.
func bursterDeployment(tb testing.TB, objs []*unstructured.Unstructured) *unstructured.Unstructured {
	tb.Helper()
	for _, o := range objs {
		if o.GetKind() == "Deployment" && o.GetName() == "burster" {
			return o
		}
	}
	tb.Fatal("no burster Deployment rendered")
	return nil
}

// podSpec is the pod template of a rendered Deployment.
func podSpec(tb testing.TB, deployment *unstructured.Unstructured) corev1.PodSpec {
	tb.Helper()
	var d struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(deployment.Object, &d); err != nil {
		tb.Fatal(err)
	}
	return d.Spec.Template.Spec
}

// plainEnv is the first container's variables with a value of their own
// (not from a field or a secret).
func plainEnv(pod corev1.PodSpec) map[string]string {
	env := map[string]string{}
	for _, e := range pod.Containers[0].Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	return env
}

// startBursterOf runs the burster as startBurster does, with the
// Deployment and the worker's BurstPolicy among the rendered objs, the
// policy changed by edit when it is not nil (a test's timings). The policy
// is created anew, so the burster resumes from no earlier status.
func startBursterOf(tb testing.TB, objs []*unstructured.Unstructured, primary, burst *mesh.Cluster, prometheus string,
	edit func(*v1alpha1.BurstPolicy)) *bursterProcess {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "burster")
	build := exec.Command("go", "build", "-o", bin, "./services/burster")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("building the burster: %v\n%s", err, out)
	}
	pod := podSpec(tb, bursterDeployment(tb, objs))
	kubeconfig, err := primary.Kubeconfig(tb, namespace, pod.ServiceAccountName)
	if err != nil {
		tb.Fatal(err)
	}
	env := plainEnv(pod)
	if env["POLICIES"] != "kubernetes" {
		tb.Fatalf("the burster's Deployment does not run the namespace's BurstPolicies: POLICIES %q", env["POLICIES"])
	}
	policy := workerPolicy(tb, objs)
	ref := policy.Spec.Destinations[1].Readiness
	if ref == nil || ref.KubeconfigSecret == nil {
		tb.Fatal("the worker's BurstPolicy does not read the burst cluster (readiness.kubeconfigSecret)")
	}
	burstKubeconfig, err := burst.Kubeconfig(tb, namespace, "burster-remote")
	if err != nil {
		tb.Fatal(err)
	}
	putKubeconfigSecret(tb, primary, ref.KubeconfigSecret, burstKubeconfig)
	policy.Spec.Measurement.Prometheus.URL = prometheus
	if edit != nil {
		edit(policy)
	}
	recreatePolicy(tb, primary, policy)
	for k, v := range map[string]string{
		// Port 0: no other test can take it first; the address is in its log
		// (at info, whatever the Deployment sets).
		"HOST": "127.0.0.1", "PORT": "0", "LOG_LEVEL": "info", "POD_NAME": "burster-0", "NAMESPACE": namespace,
		"KUBECONFIG": kubeconfig, "DRAIN_DELAY": "0s",
	} {
		env[k] = v
	}
	// Its log is shown when the test fails (a benchmark would print it all).
	log := &process.Log{Keep: 500}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("the burster said:\n%s", log)
		}
	})
	var base string
	p, err := process.Start(process.Spec{
		Name: "burster", Path: bin, Env: env, Lines: log.Add,
		Ready: func() error {
			addr, err := component.ListenAddr(log.Lines())
			if err != nil {
				return err
			}
			base = "http://" + addr
			return process.HTTPReady(base + "/healthz")()
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := p.Stop(); err != nil {
			tb.Errorf("burster: %v", err)
		}
	})
	query := policy.Spec.Measurement.Prometheus.Query
	m := regexp.MustCompile(`\[(\d+[smh])\]`).FindStringSubmatch(query)
	if m == nil {
		tb.Fatalf("the worker's BurstPolicy's query %q has no rate window", query)
	}
	window, _ := time.ParseDuration(m[1])
	return &bursterProcess{base: base, window: window, destinations: policy.Spec.Measurement.Prometheus.DestinationsQuery != "",
		policy: namespace + "/" + policy.Name}
}

// workerPolicy is the worker's BurstPolicy among rendered objects.
func workerPolicy(tb testing.TB, objs []*unstructured.Unstructured) *v1alpha1.BurstPolicy {
	tb.Helper()
	for _, o := range objs {
		if o.GetKind() == v1alpha1.Kind && o.GetName() == "worker" {
			var p v1alpha1.BurstPolicy
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &p); err != nil {
				tb.Fatal(err)
			}
			return &p
		}
	}
	tb.Fatal("no worker BurstPolicy rendered")
	return nil
}

// putKubeconfigSecret writes the kubeconfig file at path into the Secret
// ref names in primary's namespace, as make clusters does.
func putKubeconfigSecret(tb testing.TB, primary *mesh.Cluster, ref *v1alpha1.SecretKeyRef, path string) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	key := ref.Key
	if key == "" {
		key = v1alpha1.DefaultKubeconfigKey
	}
	secrets := primary.API.Clientset(tb).CoreV1().Secrets(namespace)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: ref.Name}, Data: map[string][]byte{key: b}}
	ctx := context.Background()
	if _, err := secrets.Create(ctx, secret, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		_, err = secrets.Update(ctx, secret, metav1.UpdateOptions{})
		if err != nil {
			tb.Fatal(err)
		}
	} else if err != nil {
		tb.Fatal(err)
	}
}

// recreatePolicy deletes the policy of p's name, if any, and creates p in
// primary's namespace.
func recreatePolicy(tb testing.TB, primary *mesh.Cluster, p *v1alpha1.BurstPolicy) {
	tb.Helper()
	ctx := context.Background()
	policies := primary.API.Dynamic(tb).Resource(v1alpha1.GroupVersionResource).Namespace(namespace)
	if err := policies.Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		tb.Fatal(err)
	}
	component.Eventually(tb, 10*time.Second, "policy "+p.Name+" deleted", func() bool {
		_, err := policies.Get(ctx, p.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	fresh := &v1alpha1.BurstPolicy{TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Labels: p.Labels}, Spec: p.Spec}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(fresh)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := policies.Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
		tb.Fatalf("creating the worker's BurstPolicy: %v", err)
	}
}

// policyEvents are the events of reason on the worker's BurstPolicy in c,
// where the burster records what it did (events.k8s.io, read here through
// the core API as kubectl describe does).
func policyEvents(tb testing.TB, c *mesh.Cluster, reason string) ([]corev1.Event, error) {
	events, err := c.API.Clientset(tb).CoreV1().Events(namespace).List(context.Background(), metav1.ListOptions{
		FieldSelector: "involvedObject.kind=" + v1alpha1.Kind + ",involvedObject.name=worker,reason=" + reason,
	})
	if err != nil {
		return nil, err
	}
	return events.Items, nil
}

// metric is the burster's sample of name with labels, and the policy's.
func (b *bursterProcess) metric(name string, labels ...string) (float64, error) {
	labels = append(labels, fmt.Sprintf("policy=%q", b.policy))
	slices.Sort(labels)
	return promserver.Sample(b.base+"/metrics", name+"{"+strings.Join(labels, ",")+"}")
}

// burstNotReadyAtSidecar: the burster of the rendered Deployment reads the
// burst cluster as burster-remote (the Role of the rendered burst overlay).
// While burst's workers are unready, 30 req/s (HIGH_RPS is 15) moves
// nothing: the frontend's sidecar keeps 100/0 and a BurstNotReady event is
// on the routing object. Once they are ready again, the burst reaches the
// sidecar; when the load is gone it comes back.
func burstNotReadyAtSidecar(tb testing.TB, api trafficAPI, primary, burst *mesh.Cluster, frontend *xds.Client) {
	tb.Helper()
	ctx := context.Background()
	if err := frontend.Wait(ctx, pushTimeout, routeIs(api.wantRoute(100, 0))); err != nil {
		tb.Fatalf("before the step: %v", err)
	}
	name, err := serviceName(frontend.Snapshot(), api.sidecarCluster("primary"))
	if err != nil {
		tb.Fatal(err)
	}
	load := promserver.NewLoad(tb, fmt.Sprintf(
		`istio_requests_total{reporter="source",source_workload="frontend",destination_service_name=%q,response_code="200"}`, name), 0)
	prom := promserver.Start(tb, load.Host())
	burster := startBurster(tb, primary, burst, prom.URL)
	burster.eventuallyMeasures(tb, 0, "the idle rate")

	// What a kubelet reports when the burst workers fail their probes.
	slices := burst.API.Clientset(tb).DiscoveryV1().EndpointSlices(namespace)
	list, err := slices.List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=worker"})
	if err != nil || len(list.Items) == 0 {
		tb.Fatalf("the burst worker's EndpointSlices: %v (%d)", err, len(list.Items))
	}
	for _, s := range list.Items {
		for i := range s.Endpoints {
			s.Endpoints[i].Conditions.Ready = ptr.To(false)
		}
		if _, err := slices.Update(ctx, &s, metav1.UpdateOptions{}); err != nil {
			tb.Fatal(err)
		}
	}
	load.Set(30)
	burster.eventuallyMeasures(tb, 30, "the load over HIGH_RPS")
	component.EventuallyNil(tb, 30*time.Second, "a BurstNotReady event on the worker's BurstPolicy", func() error {
		events, err := policyEvents(tb, primary, "BurstNotReady")
		if err != nil || len(events) == 0 {
			return fmt.Errorf("none yet (%v)", err)
		}
		return nil
	})
	if err := frontend.Wait(ctx, time.Second, routeIs(api.wantRoute(100, 0))); err != nil {
		tb.Fatalf("the sidecar was told to burst into a cluster with no ready worker: %v", err)
	}

	if err := burst.Publish(ctx, namespace, "worker"); err != nil { // ready again
		tb.Fatal(err)
	}
	if err := frontend.Wait(ctx, 60*time.Second, routeIs(api.wantRoute(0, 100))); err != nil {
		tb.Fatalf("the burst never reached the sidecar once burst's workers were ready: %v", err)
	}
	load.Set(0)
	if err := frontend.Wait(ctx, 90*time.Second, routeIs(api.wantRoute(100, 0))); err != nil {
		tb.Fatalf("the return never reached the frontend's sidecar: %v", err)
	}
}

// measures passes when the burster's last measurement is within 10% of rps.
func (b *bursterProcess) measures(rps float64) error {
	v, err := b.metric("burster_observed_rps")
	// Written so that NaN, the burster's "no measurement", is never about rps.
	if err != nil || !(v >= 0.9*rps && v <= 1.1*rps) {
		return fmt.Errorf("burster_observed_rps %v (%v), want about %v", v, err, rps)
	}
	return nil
}

// eventuallyMeasures waits until the burster measures about rps.
func (b *bursterProcess) eventuallyMeasures(tb testing.TB, rps float64, what string) {
	tb.Helper()
	component.EventuallyNil(tb, 60*time.Second, "the burster measures "+what, func() error { return b.measures(rps) })
}

// BenchmarkBurstAtSidecar prints how long a burst takes to reach the
// frontend's sidecar, from the rate step and from the write of the object
// the burster moves, beside istiod's debounce (PILOT_DEBOUNCE_AFTER, 100 ms
// by default): the least time istiod waits before it pushes a change. For
// the VirtualService and the HTTPRoute; run with -benchtime=1x.
func BenchmarkBurstAtSidecar(b *testing.B) {
	for _, api := range trafficAPIs {
		b.Run(api.router, func(b *testing.B) {
			m := startMesh(b, api)
			frontend, err := m.Cluster("primary").Connect(context.Background(), namespace, "frontend")
			if err != nil {
				b.Fatal(err)
			}
			defer frontend.Close()
			var step, write time.Duration
			for range b.N {
				r := burstAtSidecar(b, api, m.Cluster("primary"), m.Cluster("burst"), frontend)
				step += r.StepToPush
				write += r.WriteToPush
			}
			n := float64(b.N)
			b.ReportMetric(step.Seconds()/n, "step-to-push-s")
			b.ReportMetric(float64(write.Milliseconds())/n, "write-to-push-ms")
			b.ReportMetric(float64(write.Milliseconds())/n/100, "x-debounce")
		})
	}
}
