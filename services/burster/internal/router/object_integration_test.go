package router

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/kube"
)

// shippedRBAC is the burster's ServiceAccount, Role and RoleBinding as the
// manifests deploy them.
var shippedRBAC = filepath.Join("..", "..", "..", "..", "k8s", "base", "burster", "rbac.yaml")

// kind is one kind of routing object the router moves, with an object from
// testdata that holds more than the burster manages.
type kind struct {
	name     string
	gvr      schema.GroupVersionResource
	testdata string
	new      func(dc dynamic.Interface, ns, name string) *Object
	// rules and dests locate the destinations; managed tells the ones to
	// the two targets (read independently of the router's own code).
	rules   []string
	dests   string
	managed func(dest map[string]any) bool
}

var kinds = []kind{
	{
		name: "VirtualService", gvr: VirtualServices, testdata: "testdata/worker-vs.yaml",
		new: func(dc dynamic.Interface, ns, name string) *Object {
			return NewIstio(dc, ns, name, TwoTargets("primary", "burst"))
		},
		rules: []string{"spec", "http"}, dests: "route",
		managed: func(d map[string]any) bool {
			sub, _ := d["destination"].(map[string]any)["subset"].(string)
			return sub == "primary" || sub == "burst"
		},
	},
	{
		name: "HTTPRoute", gvr: HTTPRoutes, testdata: "testdata/worker-httproute.yaml",
		new: func(dc dynamic.Interface, ns, name string) *Object {
			return NewGatewayAPI(dc, ns, name, TwoTargets("worker-primary", "worker-burst"))
		},
		rules: []string{"spec", "rules"}, dests: "backendRefs",
		managed: func(d map[string]any) bool { return d["name"] == "worker-primary" || d["name"] == "worker-burst" },
	},
}

// eachKind runs a test for every kind of routing object.
func eachKind(t *testing.T, test func(t *testing.T, k kind)) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) { test(t, k) })
	}
}

// setup starts an API server with Istio's and the Gateway API's CRDs and
// creates the kind's worker object from testdata in a fresh namespace.
func setup(t *testing.T, k kind) (*kube.Env, string) {
	t.Helper()
	env := kube.Start(t)
	ns := env.Namespace(t)
	if err := env.Create(context.Background(), ns, kube.Objects(t, k.testdata)...); err != nil {
		t.Fatal(err)
	}
	return env, ns
}

func get(t *testing.T, dc dynamic.Interface, k kind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := dc.Resource(k.gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// withoutWeights returns the object's spec and user metadata with the
// managed weights blanked, to compare everything else.
func withoutWeights(k kind, obj *unstructured.Unstructured) map[string]any {
	o := obj.DeepCopy()
	rules, _, _ := unstructured.NestedSlice(o.Object, k.rules...)
	for _, r := range rules {
		for _, d := range r.(map[string]any)[k.dests].([]any) {
			if dest := d.(map[string]any); k.managed(dest) {
				delete(dest, "weight")
			}
		}
	}
	_ = unstructured.SetNestedSlice(o.Object, rules, k.rules...)
	return map[string]any{"spec": o.Object["spec"], "labels": o.GetLabels(), "annotations": o.GetAnnotations()}
}

func TestSetMovesOnlyTheWeights(t *testing.T) { eachKind(t, testSetMovesOnlyTheWeights) }

func testSetMovesOnlyTheWeights(t *testing.T, k kind) {
	env, ns := setup(t, k)
	dc := env.Dynamic(t)
	r := k.new(dc, ns, "worker")
	ctx := context.Background()
	before := get(t, dc, k, ns, "worker")

	if got, err := r.Get(ctx); err != nil || got != split.AllPrimary {
		t.Fatalf("Get = %v, %v", got, err)
	}
	for _, s := range []split.Split{split.AllBurst, split.WithBurst(35), split.AllPrimary} {
		prev, _ := r.Get(ctx)
		old, err := r.Set(ctx, s)
		if err != nil || old != prev {
			t.Fatalf("Set(%v) = %v, %v; want old %v", s, old, err, prev)
		}
		after := get(t, dc, k, ns, "worker")
		if got, err := r.read(after); err != nil || got != s {
			t.Fatalf("after Set(%v) the object has %v, %v", s, got, err)
		}
		if !reflect.DeepEqual(withoutWeights(k, before), withoutWeights(k, after)) {
			t.Fatalf("Set(%v) changed more than the weights:\nbefore %v\nafter  %v", s, withoutWeights(k, before), withoutWeights(k, after))
		}
	}

	// Writing what is there is not a write.
	rv := get(t, dc, k, ns, "worker").GetResourceVersion()
	if _, err := r.Set(ctx, split.AllPrimary); err != nil {
		t.Fatal(err)
	}
	if got := get(t, dc, k, ns, "worker").GetResourceVersion(); got != rv {
		t.Fatalf("a no-op Set wrote the object (resourceVersion %s -> %s)", rv, got)
	}
	// Invalid weights are refused before any request.
	if _, err := r.Set(ctx, split.Two(60, 60)); !errors.Is(err, split.ErrInvalid) {
		t.Fatalf("Set(60/60) = %v", err)
	}
}

// racing wraps a dynamic client so that another writer changes the object
// just before the router's first update, forcing a real 409 from the server.
type racing struct {
	dynamic.Interface
	race    func()
	updates *atomic.Int32
}

func (c racing) Resource(gvr schema.GroupVersionResource) dynamic.NamespaceableResourceInterface {
	return racingNS{c.Interface.Resource(gvr), c}
}

type racingNS struct {
	dynamic.NamespaceableResourceInterface
	c racing
}

func (n racingNS) Namespace(ns string) dynamic.ResourceInterface {
	return racingRes{n.NamespaceableResourceInterface.Namespace(ns), n.c}
}

type racingRes struct {
	dynamic.ResourceInterface
	c racing
}

func (r racingRes) Update(ctx context.Context, obj *unstructured.Unstructured, opts metav1.UpdateOptions, sub ...string) (*unstructured.Unstructured, error) {
	if r.c.updates.Add(1) == 1 {
		r.c.race()
	}
	out, err := r.ResourceInterface.Update(ctx, obj, opts, sub...)
	if r.c.updates.Load() == 1 && !apierrors.IsConflict(err) {
		return out, errors.New("test setup: the first update did not conflict")
	}
	return out, err
}

func TestSetRetriesConflicts(t *testing.T) { eachKind(t, testSetRetriesConflicts) }

func testSetRetriesConflicts(t *testing.T, k kind) {
	env, ns := setup(t, k)
	admin := env.Dynamic(t)
	var updates atomic.Int32
	other := func() {
		obj := get(t, admin, k, ns, "worker")
		ann := obj.GetAnnotations()
		ann["example.com/touched-by"] = "someone-else"
		obj.SetAnnotations(ann)
		if _, err := admin.Resource(k.gvr).Namespace(ns).Update(context.Background(), obj, metav1.UpdateOptions{}); err != nil {
			t.Errorf("competing update: %v", err)
		}
	}
	r := k.new(racing{Interface: admin, race: other, updates: &updates}, ns, "worker")
	if _, err := r.Set(context.Background(), split.AllBurst); err != nil {
		t.Fatalf("Set after a conflict: %v", err)
	}
	if n := updates.Load(); n != 2 {
		t.Fatalf("%d updates, want 2 (one conflict, one retry)", n)
	}
	obj := get(t, admin, k, ns, "worker")
	if got, _ := r.read(obj); got != split.AllBurst {
		t.Fatalf("weights %v after retry", got)
	}
	if obj.GetAnnotations()["example.com/touched-by"] != "someone-else" {
		t.Fatal("the retry overwrote the other writer's change")
	}
}

func TestWatchReportsChanges(t *testing.T) { eachKind(t, testWatchReportsChanges) }

func testWatchReportsChanges(t *testing.T, k kind) {
	env, ns := setup(t, k)
	admin := env.Dynamic(t)
	r := k.new(admin, ns, "worker")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var seen []split.Split
	go func() {
		_ = r.Watch(ctx, func(s split.Split, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				seen = append(seen, s)
			}
		})
	}()
	waitSeen := func(want split.Split) {
		t.Helper()
		component.Eventually(t, 10*time.Second, fmt.Sprintf("watch reporting %v", want), func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) > 0 && seen[len(seen)-1] == want
		})
	}
	waitSeen(split.AllPrimary)
	other := k.new(admin, ns, "worker")
	if _, err := other.Set(ctx, split.WithBurst(50)); err != nil {
		t.Fatal(err)
	}
	waitSeen(split.WithBurst(50))
}

// TestShippedRole authenticates with a real token of the burster's
// ServiceAccount, bound only to the shipped Role: it can read, watch and
// move every VirtualService of its namespace (a BurstPolicy may name any
// route there), and nothing beyond: no route elsewhere, no route created or
// deleted, no Secret but the burst cluster's kubeconfig, no policy's spec.
// (The services/burster tests run the whole burster with this token.)
func TestShippedRole(t *testing.T) {
	env, ns := setup(t, kinds[0])
	ctx := context.Background()
	rbac := kube.Objects(t, shippedRBAC)
	for _, o := range rbac {
		if o.GetKind() == "RoleBinding" {
			subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			for _, s := range subjects {
				s.(map[string]any)["namespace"] = ns // what kustomize's namespace sets
			}
			_ = unstructured.SetNestedSlice(o.Object, subjects, "subjects")
		}
	}
	if err := env.Create(ctx, ns, rbac...); err != nil {
		t.Fatal(err)
	}
	other := kube.Objects(t, "testdata/worker-vs.yaml")[0]
	other.SetName("other")
	if err := env.Create(ctx, ns, other); err != nil {
		t.Fatal(err)
	}
	elsewhere := env.Namespace(t)
	if err := env.Create(ctx, elsewhere, kube.Objects(t, "testdata/worker-vs.yaml")...); err != nil {
		t.Fatal(err)
	}

	sa, err := dynamic.NewForConfig(env.ServiceAccountConfig(t, ns, "burster"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"worker", "other"} {
		mine := NewIstio(sa, ns, name, TwoTargets("primary", "burst"))
		if _, err := mine.Set(ctx, split.AllBurst); err != nil {
			t.Fatalf("the shipped Role cannot move VirtualService %s: %v", name, err)
		}
		if got, err := mine.Get(ctx); err != nil || got != split.AllBurst {
			t.Fatalf("Get %s as the service account = %v, %v", name, got, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	seen := make(chan split.Split, 8)
	go func() {
		_ = NewIstio(sa, ns, "worker", TwoTargets("primary", "burst")).Watch(wctx, func(s split.Split, _ error) { seen <- s })
	}()
	select {
	case s := <-seen:
		if s != split.AllBurst {
			t.Fatalf("watch as the service account saw %v", s)
		}
	case <-wctx.Done():
		t.Fatal("the shipped Role cannot list/watch its VirtualService")
	}
	if _, err := sa.Resource(VirtualServices).Namespace(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("the shipped Role cannot list the namespace's VirtualServices (the manager's cache does): %v", err)
	}

	theirs := NewIstio(sa, elsewhere, "worker", TwoTargets("primary", "burst"))
	policies := sa.Resource(schema.GroupVersionResource{Group: "cloudburst.dev", Version: "v1alpha1", Resource: "burstpolicies"})
	cs, err := kubernetes.NewForConfig(env.ServiceAccountConfig(t, ns, "burster"))
	if err != nil {
		t.Fatal(err)
	}
	for what, err := range map[string]error{
		"get a VirtualService in another namespace": func() error { _, err := theirs.Get(ctx); return errors.Unwrap(err) }(),
		"move a VirtualService in another namespace": func() error {
			_, err := theirs.Set(ctx, split.AllBurst)
			return errors.Unwrap(err)
		}(),
		"list VirtualServices in another namespace": func() error {
			_, err := sa.Resource(VirtualServices).Namespace(elsewhere).List(ctx, metav1.ListOptions{})
			return err
		}(),
		"delete a VirtualService": func() error {
			return sa.Resource(VirtualServices).Namespace(ns).Delete(ctx, "other", metav1.DeleteOptions{})
		}(),
		"create a VirtualService": func() error {
			vs := other.DeepCopy()
			vs.SetName("new")
			vs.SetResourceVersion("")
			_, err := sa.Resource(VirtualServices).Namespace(ns).Create(ctx, vs, metav1.CreateOptions{})
			return err
		}(),
		"read another Secret": func() error {
			_, err := cs.CoreV1().Secrets(ns).Get(ctx, "other", metav1.GetOptions{})
			return err
		}(),
		"list Secrets": func() error { _, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); return err }(),
		"create a BurstPolicy": func() error {
			p := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "cloudburst.dev/v1alpha1", "kind": "BurstPolicy",
				"metadata": map[string]any{"name": "mine"}}}
			_, err := policies.Namespace(ns).Create(ctx, p, metav1.CreateOptions{})
			return err
		}(),
		"list BurstPolicies in another namespace": func() error {
			_, err := policies.Namespace(elsewhere).List(ctx, metav1.ListOptions{})
			return err
		}(),
	} {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want Forbidden", what, err)
		}
	}
	if _, err := policies.Namespace(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("the shipped Role cannot list its namespace's BurstPolicies: %v", err)
	}
}

// TestSetThreeTargetsInOneUpdate: against a real API server, a route to
// three clusters gets its three weights in one update (one generation), is
// read back as written, and a split that does not name its three
// destinations is refused before anything is written.
func TestSetThreeTargetsInOneUpdate(t *testing.T) {
	targets := []Target{{"primary", "worker-primary"}, {"burst", "worker-burst"}, {"burst-2", "worker-burst-2"}}
	vsDest := func(ref string, w int64) any {
		return map[string]any{"destination": map[string]any{"host": "worker", "subset": ref}, "weight": w}
	}
	backend := func(ref string, w int64) any { return map[string]any{"name": ref, "port": int64(8080), "weight": w} }
	objects := map[string]*unstructured.Unstructured{
		"VirtualService": {Object: map[string]any{
			"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": map[string]any{"name": "worker"},
			"spec": map[string]any{"hosts": []any{"worker"}, "http": []any{map[string]any{"route": []any{
				vsDest("worker-primary", 100), vsDest("worker-burst", 0), vsDest("worker-burst-2", 0)}}}},
		}},
		"HTTPRoute": {Object: map[string]any{
			"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": map[string]any{"name": "worker"},
			"spec": map[string]any{"rules": []any{map[string]any{"backendRefs": []any{
				backend("worker-primary", 100), backend("worker-burst", 0), backend("worker-burst-2", 0)}}}},
		}},
	}
	env := kube.Start(t)
	dc := env.Dynamic(t)
	ctx := context.Background()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			ns := env.Namespace(t)
			if err := env.Create(ctx, ns, objects[k.name]); err != nil {
				t.Fatal(err)
			}
			r := NewIstio(dc, ns, "worker", targets)
			if k.gvr == HTTPRoutes {
				r = NewGatewayAPI(dc, ns, "worker", targets)
			}
			home := split.Home("primary", "burst", "burst-2")
			if got, err := r.Get(ctx); err != nil || got != home {
				t.Fatalf("Get = %v, %v; want %v", got, err, home)
			}
			before := get(t, dc, k, ns, "worker").GetGeneration()
			want := home.WithWeights(40, 40, 20)
			if old, err := r.Set(ctx, want); err != nil || old != home {
				t.Fatalf("Set = %v, %v", old, err)
			}
			after := get(t, dc, k, ns, "worker").GetGeneration()
			if after != before+1 {
				t.Fatalf("generation %d -> %d: want one update for the three weights", before, after)
			}
			if got, err := r.Get(ctx); err != nil || got != want {
				t.Fatalf("Get after Set = %v, %v; want %v", got, err, want)
			}
			if _, err := r.Set(ctx, split.WithBurst(50)); !errors.Is(err, split.ErrInvalid) {
				t.Fatalf("Set of a two-cluster split = %v, want ErrInvalid", err)
			}
			if g := get(t, dc, k, ns, "worker").GetGeneration(); g != after {
				t.Fatalf("a refused split wrote: generation %d -> %d", after, g)
			}
		})
	}
}
