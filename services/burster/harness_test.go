package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/app"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/config"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/kube"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
)

var (
	workerVS    = filepath.Join("internal", "router", "testdata", "worker-vs.yaml")
	shippedRBAC = filepath.Join("..", "..", "k8s", "base", "burster", "rbac.yaml")
	// remoteRBAC is what the burster may do in the burst cluster.
	remoteRBAC = filepath.Join("..", "..", "k8s", "overlays", "burst", "burster-remote.yaml")
)

// newLoadExporter serves test_requests_total growing at rps: the stand-in
// for the worker's request metric.
func newLoadExporter(t testing.TB, rps float64) *promserver.Load {
	t.Helper()
	return promserver.NewLoad(t, `test_requests_total{destination="worker"}`, rps)
}

// cluster is an API server with the worker VirtualService and the shipped
// RBAC in a namespace, and a client config holding the burster's token.
type cluster struct {
	env *kube.Env
	ns  string
	sa  *rest.Config
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	env := kube.Start(t)
	ns := env.Namespace(t)
	objs := rbacIn(t, shippedRBAC, ns)
	objs = append(objs, kube.Objects(t, workerVS)...)
	if err := env.Create(context.Background(), ns, objs...); err != nil {
		t.Fatal(err)
	}
	return &cluster{env: env, ns: ns, sa: env.ServiceAccountConfig(t, ns, "burster")}
}

// rbacIn reads RBAC manifests with their RoleBindings' subjects in ns, as
// kustomize's namespace setting writes them.
func rbacIn(t testing.TB, path, ns string) []*unstructured.Unstructured {
	t.Helper()
	objs := kube.Objects(t, path)
	for _, o := range objs {
		if o.GetKind() == "RoleBinding" {
			subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			for _, s := range subjects {
				s.(map[string]any)["namespace"] = ns
			}
			_ = unstructured.SetNestedSlice(o.Object, subjects, "subjects")
		}
	}
	return objs
}

// weights reads the VirtualService as an admin would.
func (c *cluster) weights(t testing.TB) split.Split {
	t.Helper()
	s, err := router.NewIstio(c.env.Dynamic(t), c.ns, "worker", router.TwoTargets("primary", "burst")).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// restartAndDrift restarts the API server and, once the restarted one
// takes a write, moves the worker VirtualService to 50/50 as an admin: the
// drift a burster must put back. It returns when the drift was made.
func (c *cluster) restartAndDrift(t testing.TB) time.Time {
	t.Helper()
	c.env.RestartAPIServer(t)
	admin := router.NewIstio(c.env.Dynamic(t), c.ns, "worker", router.TwoTargets("primary", "burst"))
	component.EventuallyNil(t, 30*time.Second, "the restarted API server taking a write", func() error {
		_, err := admin.Set(context.Background(), split.WithBurst(50))
		return err
	})
	return time.Now()
}

// events lists the burster's events on the VirtualService.
func (c *cluster) events(t testing.TB, reason string) []corev1.Event {
	t.Helper()
	list, err := c.env.Clientset(t).CoreV1().Events(c.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Event
	for _, e := range list.Items {
		if e.Reason == reason && e.InvolvedObject.Kind == "VirtualService" && e.InvolvedObject.Name == "worker" {
			out = append(out, e)
		}
	}
	return out
}

// replica is one running burster.
type replica struct {
	base   string
	cancel context.CancelFunc
	done   chan error
	logs   *process.Log // POLICIES=kubernetes replicas' (startPoliciesVia); nil otherwise
}

// testConfig is the burster's configuration from env on top of the
// defaults, as envconfig reads it, for a fast test.
func testConfig(t testing.TB, env map[string]string) config.Config {
	t.Helper()
	base := map[string]string{
		"HOST": "127.0.0.1", "DRAIN_DELAY": "0s", "INTERVAL": "200ms", "MIN_DWELL": "1s",
		"LEASE_DURATION": "3s", "RENEW_DEADLINE": "2s", "RETRY_PERIOD": "500ms", "LOG_LEVEL": "warn",
	}
	for k, v := range env {
		base[k] = v
	}
	for k, v := range base {
		t.Setenv(k, v)
	}
	cfg, err := envconf.Load[config.Config]()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startReplica runs the burster, as main does, with the burster's own token,
// on a port of its own choosing (PORT=0, so no other test can take it first).
func (c *cluster) startReplica(t testing.TB, name string, env map[string]string) *replica {
	t.Helper()
	return c.startReplicaVia(t, name, env, c.sa)
}

// startReplicaVia is startReplica with the client configuration rc (the
// burster's token, through another address).
func (c *cluster) startReplicaVia(t testing.TB, name string, env map[string]string, rc *rest.Config) *replica {
	t.Helper()
	env["PORT"] = "0"
	env["POD_NAME"] = name
	cfg := testConfig(t, env)
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{cancel: cancel, done: make(chan error, 1)}
	logs := &process.Log{Keep: 1000}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	b, err := app.Connect(ctx, cfg, log, rc, c.ns)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer b.Close()
		r.done <- app.Serve(ctx, cfg, log, b)
	}()
	t.Cleanup(func() { r.stop(t) })
	component.EventuallyNil(t, 10*time.Second, name+" listening", func() error {
		addr, err := component.ListenAddr(logs.Lines())
		r.base = "http://" + addr
		return err
	})
	component.Eventually(t, 10*time.Second, name+" serving", func() bool { _, ok := r.metric("burster_leader"); return ok })
	return r
}

// stop cancels the replica and waits for it; later calls do nothing.
func (r *replica) stop(t testing.TB) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("burster stopped with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("burster did not stop within 15s")
	}
}

// metric reads one unlabelled sample from the replica's /metrics.
func (r *replica) metric(name string) (float64, bool) {
	v, err := promserver.Sample(r.base+"/metrics", name)
	return v, err == nil
}

func (r *replica) leader() bool { v, _ := r.metric("burster_leader"); return v == 1 }
