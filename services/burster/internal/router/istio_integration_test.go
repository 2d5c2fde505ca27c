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

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/kube"
)

// shippedRBAC is the burster's ServiceAccount, Role and RoleBinding as the
// manifests deploy them.
var shippedRBAC = filepath.Join("..", "..", "..", "..", "k8s", "base", "burster", "rbac.yaml")

// setup starts an API server with Istio's CRDs and creates the worker
// VirtualService from testdata in a fresh namespace.
func setup(t *testing.T) (*kube.Env, string) {
	t.Helper()
	env := kube.Start(t)
	ns := env.Namespace(t)
	if err := env.Create(context.Background(), ns, kube.Objects(t, "testdata/worker-vs.yaml")...); err != nil {
		t.Fatal(err)
	}
	return env, ns
}

func getVS(t *testing.T, dc dynamic.Interface, ns, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := dc.Resource(VirtualServices).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// withoutWeights returns the object's spec and user metadata with the
// managed weights blanked, to compare everything else.
func withoutWeights(obj *unstructured.Unstructured) map[string]any {
	o := obj.DeepCopy()
	http, _, _ := unstructured.NestedSlice(o.Object, "spec", "http")
	for _, h := range http {
		for _, d := range h.(map[string]any)["route"].([]any) {
			dest := d.(map[string]any)
			if sub, _ := dest["destination"].(map[string]any)["subset"].(string); sub == "primary" || sub == "burst" {
				delete(dest, "weight")
			}
		}
	}
	_ = unstructured.SetNestedSlice(o.Object, http, "spec", "http")
	return map[string]any{"spec": o.Object["spec"], "labels": o.GetLabels(), "annotations": o.GetAnnotations()}
}

func TestSetMovesOnlyTheWeights(t *testing.T) {
	env, ns := setup(t)
	dc := env.Dynamic(t)
	r := NewIstio(dc, ns, "worker", "primary", "burst")
	ctx := context.Background()
	before := getVS(t, dc, ns, "worker")

	if got, err := r.Get(ctx); err != nil || got != split.AllPrimary {
		t.Fatalf("Get = %v, %v", got, err)
	}
	for _, s := range []split.Split{split.AllBurst, split.WithBurst(35), split.AllPrimary} {
		prev, _ := r.Get(ctx)
		old, err := r.Set(ctx, s)
		if err != nil || old != prev {
			t.Fatalf("Set(%v) = %v, %v; want old %v", s, old, err, prev)
		}
		after := getVS(t, dc, ns, "worker")
		if got, err := r.read(after); err != nil || got != s {
			t.Fatalf("after Set(%v) the object has %v, %v", s, got, err)
		}
		if !reflect.DeepEqual(withoutWeights(before), withoutWeights(after)) {
			t.Fatalf("Set(%v) changed more than the weights:\nbefore %v\nafter  %v", s, withoutWeights(before), withoutWeights(after))
		}
	}

	// Writing what is there is not a write.
	rv := getVS(t, dc, ns, "worker").GetResourceVersion()
	if _, err := r.Set(ctx, split.AllPrimary); err != nil {
		t.Fatal(err)
	}
	if got := getVS(t, dc, ns, "worker").GetResourceVersion(); got != rv {
		t.Fatalf("a no-op Set wrote the object (resourceVersion %s -> %s)", rv, got)
	}
	// Invalid weights are refused before any request.
	if _, err := r.Set(ctx, split.Split{Primary: 60, Burst: 60}); !errors.Is(err, split.ErrInvalid) {
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

func TestSetRetriesConflicts(t *testing.T) {
	env, ns := setup(t)
	admin := env.Dynamic(t)
	var updates atomic.Int32
	other := func() {
		obj := getVS(t, admin, ns, "worker")
		ann := obj.GetAnnotations()
		ann["example.com/touched-by"] = "someone-else"
		obj.SetAnnotations(ann)
		if _, err := admin.Resource(VirtualServices).Namespace(ns).Update(context.Background(), obj, metav1.UpdateOptions{}); err != nil {
			t.Errorf("competing update: %v", err)
		}
	}
	r := NewIstio(racing{Interface: admin, race: other, updates: &updates}, ns, "worker", "primary", "burst")
	if _, err := r.Set(context.Background(), split.AllBurst); err != nil {
		t.Fatalf("Set after a conflict: %v", err)
	}
	if n := updates.Load(); n != 2 {
		t.Fatalf("%d updates, want 2 (one conflict, one retry)", n)
	}
	obj := getVS(t, admin, ns, "worker")
	if got, _ := r.read(obj); got != split.AllBurst {
		t.Fatalf("weights %v after retry", got)
	}
	if obj.GetAnnotations()["example.com/touched-by"] != "someone-else" {
		t.Fatal("the retry overwrote the other writer's change")
	}
}

func TestWatchReportsChanges(t *testing.T) {
	env, ns := setup(t)
	admin := env.Dynamic(t)
	r := NewIstio(admin, ns, "worker", "primary", "burst")
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
	other := NewIstio(admin, ns, "worker", "primary", "burst")
	if _, err := other.Set(ctx, split.WithBurst(50)); err != nil {
		t.Fatal(err)
	}
	waitSeen(split.WithBurst(50))
}

// TestShippedRoleIsEnoughAndNoMore authenticates with a real token of the
// burster's ServiceAccount, bound only to the shipped Role: it can read,
// watch and move its VirtualService, and is refused on another one.
func TestShippedRoleIsEnoughAndNoMore(t *testing.T) {
	env, ns := setup(t)
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

	sa, err := dynamic.NewForConfig(env.ServiceAccountConfig(t, ns, "burster"))
	if err != nil {
		t.Fatal(err)
	}
	mine := NewIstio(sa, ns, "worker", "primary", "burst")
	if _, err := mine.Set(ctx, split.AllBurst); err != nil {
		t.Fatalf("the shipped Role cannot move its VirtualService: %v", err)
	}
	if got, err := mine.Get(ctx); err != nil || got != split.AllBurst {
		t.Fatalf("Get as the service account = %v, %v", got, err)
	}

	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	seen := make(chan split.Split, 8)
	go func() { _ = mine.Watch(wctx, func(s split.Split, _ error) { seen <- s }) }()
	select {
	case s := <-seen:
		if s != split.AllBurst {
			t.Fatalf("watch as the service account saw %v", s)
		}
	case <-wctx.Done():
		t.Fatal("the shipped Role cannot list/watch its VirtualService by field selector")
	}

	theirs := NewIstio(sa, ns, "other", "primary", "burst")
	if _, err := theirs.Get(ctx); !apierrors.IsForbidden(errors.Unwrap(err)) {
		t.Fatalf("Get on another VirtualService = %v, want Forbidden", err)
	}
	if _, err := theirs.Set(ctx, split.AllBurst); !apierrors.IsForbidden(errors.Unwrap(err)) {
		t.Fatalf("Set on another VirtualService = %v, want Forbidden", err)
	}
	if _, err := sa.Resource(VirtualServices).Namespace(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("an unscoped list = %v, want Forbidden", err)
	}
}
