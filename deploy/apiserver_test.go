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

var virtualServices = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}

// apply creates a cluster's objects in a real API server with Istio's CRDs,
// namespaces first, each with strict field validation: an unknown or
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
// API server.
func TestAPIServerAcceptsEveryObject(t *testing.T) {
	for _, c := range clusters(t) {
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
}

// TestRenderedRBAC: with the primary cluster's objects exactly as rendered,
// a real token of the burster's ServiceAccount can read and update the
// worker VirtualService, and is refused on another VirtualService.
func TestRenderedRBAC(t *testing.T) {
	c := clusters(t)[0]
	env := apply(t, c)
	ctx := context.Background()
	other := one(t, c.objs, "VirtualService", "worker").DeepCopy()
	other.SetName("not-the-burster-s")
	other.SetResourceVersion("")
	if err := env.Create(ctx, "cloudburst", other); err != nil {
		t.Fatal(err)
	}

	sa, err := dynamic.NewForConfig(env.ServiceAccountConfig(t, "cloudburst", "burster"))
	if err != nil {
		t.Fatal(err)
	}
	vs := sa.Resource(virtualServices).Namespace("cloudburst")
	mine, err := vs.Get(ctx, "worker", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the burster cannot read its VirtualService: %v", err)
	}
	http, _, _ := unstructured.NestedSlice(mine.Object, "spec", "http")
	dests := http[0].(map[string]any)["route"].([]any)
	dests[0].(map[string]any)["weight"] = int64(0)
	dests[1].(map[string]any)["weight"] = int64(100)
	_ = unstructured.SetNestedSlice(mine.Object, http, "spec", "http")
	if _, err := vs.Update(ctx, mine, metav1.UpdateOptions{FieldValidation: "Strict"}); err != nil {
		t.Fatalf("the burster cannot move its weights: %v", err)
	}
	if _, err := vs.Get(ctx, "not-the-burster-s", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("reading another VirtualService: %v, want Forbidden", err)
	}
	if _, err := vs.List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("listing every VirtualService: %v, want Forbidden", err)
	}
	if _, err := vs.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=worker"}); err != nil {
		t.Fatalf("listing its VirtualService by name (what its informer does): %v", err)
	}
}
