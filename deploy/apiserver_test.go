package deploy

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
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
// a real token of the burster's ServiceAccount can read the worker's
// BurstPolicy and write its status, read the Secret it names, and read,
// list and update the route it names (the VirtualService or the
// HTTPRoute); it is refused the policy's spec, another Secret, and any
// route in another namespace.
func TestRenderedRBAC(t *testing.T) {
	eachAPI(t, func(t *testing.T, api trafficAPI) {
		c := clusters(t, api)[0]
		env := apply(t, c)
		ctx := context.Background()
		policy := workerPolicy(t, c.objs)
		secret := policy.Spec.Destinations[1].Readiness.KubeconfigSecret.Name
		if _, err := env.Clientset(t).CoreV1().Secrets("cloudburst").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: secret}, Data: map[string][]byte{"kubeconfig": []byte("-")}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		elsewhere := env.Namespace(t)
		theirs := one(t, c.objs, api.kind, "worker").DeepCopy()
		theirs.SetNamespace(elsewhere)
		theirs.SetResourceVersion("")
		if err := env.Create(ctx, elsewhere, theirs); err != nil {
			t.Fatal(err)
		}

		rc := env.ServiceAccountConfig(t, "cloudburst", "burster")
		sa, err := dynamic.NewForConfig(rc)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := kubernetes.NewForConfig(rc)
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
		if _, err := res.List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatalf("listing the namespace's %s (its cache does): %v", api.gvr.Resource, err)
		}
		if _, err := cs.CoreV1().Secrets("cloudburst").Get(ctx, secret, metav1.GetOptions{}); err != nil {
			t.Fatalf("reading the Secret its policy names: %v", err)
		}
		policies := sa.Resource(v1alpha1.GroupVersionResource).Namespace("cloudburst")
		p, err := policies.Get(ctx, "worker", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("reading the worker's BurstPolicy: %v", err)
		}
		_ = unstructured.SetNestedField(p.Object, "VirtualService/worker", "status", "route")
		if _, err := policies.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("writing the policy's status: %v", err)
		}
		for what, err := range map[string]error{
			"the policy's spec": func() error {
				p, err := policies.Get(ctx, "worker", metav1.GetOptions{})
				if err != nil {
					return err
				}
				_ = unstructured.SetNestedField(p.Object, true, "spec", "dryRun")
				_, err = policies.Update(ctx, p, metav1.UpdateOptions{})
				return err
			}(),
			"another Secret": func() error {
				_, err := cs.CoreV1().Secrets("cloudburst").Get(ctx, "prometheus", metav1.GetOptions{})
				return err
			}(),
			"a route in another namespace": func() error {
				_, err := sa.Resource(api.gvr).Namespace(elsewhere).Get(ctx, "worker", metav1.GetOptions{})
				return err
			}(),
			"deleting its route": res.Delete(ctx, "worker", metav1.DeleteOptions{}),
		} {
			if !apierrors.IsForbidden(err) {
				t.Errorf("%s: %v, want Forbidden", what, err)
			}
		}
	})
}
