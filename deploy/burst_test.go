package deploy

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/mesh"
	"github.com/cloudburst-demo/cloudburst/testkit/mesh/xds"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
)

// burstTimes is how long one burst took to reach the frontend's sidecar.
type burstTimes struct {
	// StepToPush: from the rate stepping over HIGH_RPS to istiod's push of
	// the new route to the sidecar. WriteToPush: from the VirtualService
	// write (seen by a watch) to that push.
	StepToPush, WriteToPush time.Duration
}

// burstAtSidecar runs the real burster binary with its Deployment's
// configuration from the primary overlay, authenticated as its
// ServiceAccount against the primary API server, reading the rate from a
// real Prometheus. The rate, Istio's istio_requests_total as the frontend's
// sidecar would report it, steps from 5/s to 30/s (HIGH_RPS is 15): the
// frontend's sidecar must be told to send everything to burst. Then it drops
// to 0 and the sidecar must be told to send everything back.
func burstAtSidecar(tb testing.TB, primary *mesh.Cluster, frontend *xds.Client) burstTimes {
	tb.Helper()
	ctx := context.Background()
	load := promserver.NewLoad(tb,
		`istio_requests_total{reporter="source",source_workload="frontend",destination_service_name="worker"}`, 5)
	prom := promserver.Start(tb, load.Host())
	burster := startBurster(tb, primary, prom.URL)

	if err := frontend.Wait(ctx, pushTimeout, routeIs(wantWeights(100, 0))); err != nil {
		tb.Fatalf("before the step: %v", err)
	}
	// Steady first: the burster measures the idle rate over a full window.
	component.EventuallyNil(tb, 60*time.Second, "the burster measures about 5/s", func() error {
		v, err := burster.metric("burster_observed_rps")
		if err != nil || v < 4.5 || v > 5.5 {
			return fmt.Errorf("burster_observed_rps %v (%v)", v, err)
		}
		return nil
	})
	written := watchWeights(tb, primary, 0, 100)

	step := time.Now()
	load.Set(30)
	var pushed time.Time
	err := frontend.Wait(ctx, 60*time.Second, func(s xds.Snapshot) error {
		pushed = s.Received[xds.RouteType]
		return routeIs(wantWeights(0, 100))(s)
	})
	if err != nil {
		tb.Fatalf("the burst never reached the frontend's sidecar: %v", err)
	}
	var writtenAt time.Time
	select {
	case writtenAt = <-written:
	case <-time.After(10 * time.Second):
		tb.Fatal("the sidecar was told 0/100 but no VirtualService write was seen")
	}

	load.Set(0)
	if err := frontend.Wait(ctx, 90*time.Second, routeIs(wantWeights(100, 0))); err != nil {
		tb.Fatalf("the return never reached the frontend's sidecar: %v", err)
	}
	return burstTimes{StepToPush: pushed.Sub(step), WriteToPush: pushed.Sub(writtenAt)}
}

// watchWeights reports when a watch of the worker VirtualService in the
// cluster first sees the given weights.
func watchWeights(tb testing.TB, c *mesh.Cluster, primary, burst int64) <-chan time.Time {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	w, err := c.API.Dynamic(tb).Resource(virtualServices).Namespace(namespace).Watch(ctx,
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
			http, _, _ := unstructured.NestedSlice(ev.Object.(*unstructured.Unstructured).Object, "spec", "http")
			if len(http) == 0 {
				continue
			}
			route, _ := http[0].(map[string]any)["route"].([]any)
			if len(route) == 2 && route[0].(map[string]any)["weight"] == primary && route[1].(map[string]any)["weight"] == burst {
				seen <- time.Now()
				return
			}
		}
	}()
	return seen
}

// bursterProcess is the running burster binary.
type bursterProcess struct{ base string }

// startBurster builds and runs the burster with the environment of its
// Deployment in the primary overlay; only what a pod gets from its
// surroundings differs: its port, name and namespace, the Prometheus
// address, and a kubeconfig holding its ServiceAccount's token.
func startBurster(tb testing.TB, primary *mesh.Cluster, prometheus string) *bursterProcess {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "burster")
	build := exec.Command("go", "build", "-o", bin, "./services/burster")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("building the burster: %v\n%s", err, out)
	}
	var deployment *unstructured.Unstructured
	for _, o := range primary.Spec.Objects {
		if o.GetKind() == "Deployment" && o.GetName() == "burster" {
			deployment = o
		}
	}
	if deployment == nil {
		tb.Fatal("the primary overlay has no burster Deployment")
	}
	var d struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(deployment.Object, &d); err != nil {
		tb.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	kubeconfig, err := primary.Kubeconfig(tb, namespace, pod.ServiceAccountName)
	if err != nil {
		tb.Fatal(err)
	}
	port := component.FreePort(tb)
	env := map[string]string{}
	for _, e := range pod.Containers[0].Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	for k, v := range map[string]string{
		"HOST": "127.0.0.1", "PORT": strconv.Itoa(port), "POD_NAME": "burster-0", "NAMESPACE": namespace,
		"PROMETHEUS_URL": prometheus, "KUBECONFIG": kubeconfig, "DRAIN_DELAY": "0s",
	} {
		env[k] = v
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	// Its log is shown when the test fails (a benchmark would print it all).
	log := &process.Log{Keep: 500}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("the burster said:\n%s", log)
		}
	})
	p, err := process.Start(process.Spec{
		Name: "burster", Path: bin, Env: env, Lines: log.Add,
		Ready: process.HTTPReady(base + "/healthz"),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := p.Stop(); err != nil {
			tb.Errorf("burster: %v", err)
		}
	})
	return &bursterProcess{base: base}
}

// metric reads one unlabelled sample from the burster's /metrics.
func (b *bursterProcess) metric(name string) (float64, error) {
	return promserver.Sample(b.base+"/metrics", name)
}

// BenchmarkBurstAtSidecar prints how long a burst takes to reach the
// frontend's sidecar, from the rate step and from the VirtualService write,
// beside istiod's debounce (PILOT_DEBOUNCE_AFTER, 100 ms by default): the
// least time istiod waits before it pushes a change. Run with -benchtime=1x.
func BenchmarkBurstAtSidecar(b *testing.B) {
	m := startMesh(b)
	frontend, err := m.Cluster("primary").Connect(context.Background(), namespace, "frontend")
	if err != nil {
		b.Fatal(err)
	}
	defer frontend.Close()
	var step, write time.Duration
	for range b.N {
		r := burstAtSidecar(b, m.Cluster("primary"), frontend)
		step += r.StepToPush
		write += r.WriteToPush
	}
	n := float64(b.N)
	b.ReportMetric(step.Seconds()/n, "step-to-push-s")
	b.ReportMetric(float64(write.Milliseconds())/n, "write-to-push-ms")
	b.ReportMetric(float64(write.Milliseconds())/n/100, "x-debounce")
}
