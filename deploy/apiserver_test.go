package deploy

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/cloudburst-demo/cloudburst/testkit/kube"
)

// apply creates a cluster's objects in a real API server with Istio's and the
// Gateway API's CRDs, namespaces first, each with strict field validation: an unknown or
// misspelled field fails instead of being dropped.
func apply(t *testing.T, c cluster) *kube.Env {
	t.Helper()
	env := kube.Start(t)
	if err := env.CreateAll(context.Background(), c.objs...); err != nil {
		t.Errorf("%s: the API server refused:\n%v", c.name, err)
	}
	return env
}

// TestAPIServerAcceptsEveryObject applies each cluster's full set to its own
// API server, with either way of splitting the traffic.
func TestAPIServerAcceptsEveryObject(t *testing.T) {
	eachAPI(t, func(t *testing.T, api trafficAPI) {
		for _, c := range clusters(t, api) {
			t.Run(c.name, func(t *testing.T) {
				env := apply(t, c)
				// The check can fail: a misspelled field is refused.
				bad := one(t, c.objs, "Deployment", "worker").DeepCopy()
				bad.SetName("worker-with-a-typo")
				containers, _, _ := unstructured.NestedSlice(bad.Object, "spec", "template", "spec", "containers")
				containers[0].(map[string]any)["imagePullPolicyy"] = "Always"
				_ = unstructured.SetNestedSlice(bad.Object, containers, "spec", "template", "spec", "containers")
				if err := env.Create(context.Background(), "cloudburst", bad); err == nil {
					t.Fatal("a Deployment with an unknown field was accepted: validation is not strict")
				}
			})
		}
	})
}

// TestRenderedRBAC: with the primary cluster's objects exactly as rendered,
// a real token of the burster's ServiceAccount can read, list by name and
// update the object it moves (the VirtualService or the HTTPRoute), and is
// refused on another one of its kind and on the other kind.
func TestRenderedRBAC(t *testing.T) {
	eachAPI(t, func(t *testing.T, api trafficAPI) {
		c := clusters(t, api)[0]
		env := apply(t, c)
		ctx := context.Background()
		other := one(t, c.objs, api.kind, "worker").DeepCopy()
		other.SetName("not-the-burster-s")
		other.SetResourceVersion("")
		if err := env.Create(ctx, "cloudburst", other); err != nil {
			t.Fatal(err)
		}

		sa, err := dynamic.NewForConfig(env.ServiceAccountConfig(t, "cloudburst", "burster"))
		if err != nil {
			t.Fatal(err)
		}
		res := sa.Resource(api.gvr).Namespace("cloudburst")
		mine, err := res.Get(ctx, "worker", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the burster cannot read its %s: %v", api.kind, err)
		}
		api.setWeights(t, mine.Object, 0, 100)
		if _, err := res.Update(ctx, mine, metav1.UpdateOptions{FieldValidation: "Strict"}); err != nil {
			t.Fatalf("the burster cannot move its weights: %v", err)
		}
		if _, err := res.Get(ctx, "not-the-burster-s", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
			t.Fatalf("reading another %s: %v, want Forbidden", api.kind, err)
		}
		if _, err := res.List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Fatalf("listing every %s: %v, want Forbidden", api.kind, err)
		}
		if _, err := res.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=worker"}); err != nil {
			t.Fatalf("listing its %s by name (what its informer does): %v", api.kind, err)
		}
		for _, gvr := range []schema.GroupVersionResource{virtualServices, httpRoutes} {
			if gvr == api.gvr {
				continue
			}
			if _, err := sa.Resource(gvr).Namespace("cloudburst").Get(ctx, "worker", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
				t.Fatalf("reading %s worker, which this burster does not move: %v, want Forbidden", gvr.Resource, err)
			}
		}
	})
}
