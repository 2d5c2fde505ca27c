package deploy

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cloudburst-demo/cloudburst/testkit/mesh"
)

var (
	virtualServices = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
	httpRoutes      = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
)

// trafficAPI is one of the two ways the manifests split the worker's
// traffic between the clusters: an Istio VirtualService over two subsets,
// or a Gateway API HTTPRoute over two per-cluster Services. The deployment
// tests run for each.
type trafficAPI struct {
	// router is the burster's ROUTER for it; it names the subtests.
	router string
	// overlays holds each cluster's overlay: <overlays>/<cluster>.
	overlays string
	// kind and gvr are the object the burster moves, named worker; rules
	// and dests locate its weighted destinations.
	kind  string
	gvr   schema.GroupVersionResource
	rules []string
	dests string
	// target says which cluster's workers a destination goes to: "primary",
	// "burst", or "" for neither.
	target func(dest map[string]any) string
	// sidecarCluster is the frontend sidecar's cluster for the primary or
	// the burst cluster's workers.
	sidecarCluster func(target string) string
}

var (
	istioAPI = trafficAPI{
		router: "istio", overlays: "k8s/overlays", kind: "VirtualService", gvr: virtualServices,
		rules: []string{"spec", "http"}, dests: "route",
		target: func(d map[string]any) string { return str(obj(d["destination"]), "subset") },
		sidecarCluster: func(target string) string {
			return "outbound|8080|" + target + "|" + workerFQDN
		},
	}
	gatewayAPI = trafficAPI{
		router: "gatewayapi", overlays: "k8s/overlays/gatewayapi", kind: "HTTPRoute", gvr: httpRoutes,
		rules: []string{"spec", "rules"}, dests: "backendRefs",
		target: func(d map[string]any) string {
			target, _ := strings.CutPrefix(str(d, "name"), "worker-")
			return target
		},
		sidecarCluster: func(target string) string {
			return "outbound|8080||worker-" + target + "." + namespace + ".svc.cluster.local"
		},
	}
	trafficAPIs = []trafficAPI{istioAPI, gatewayAPI}
)

// eachAPI runs a test for both ways of splitting the traffic.
func eachAPI(t *testing.T, test func(t *testing.T, api trafficAPI)) {
	for _, api := range trafficAPIs {
		t.Run(api.router, func(t *testing.T) { test(t, api) })
	}
}

// pair returns the first rule's destinations to primary and burst, or an
// error when no rule goes to both.
func (a trafficAPI) pair(rules []any) (primary, burst map[string]any, err error) {
	for _, r := range rules {
		primary, burst = nil, nil
		dests, _ := obj(r)[a.dests].([]any) // not slice(), which copies
		for _, d := range dests {
			switch a.target(obj(d)) {
			case "primary":
				primary = obj(d)
			case "burst":
				burst = obj(d)
			}
		}
		if primary != nil && burst != nil {
			return primary, burst, nil
		}
	}
	return nil, nil, fmt.Errorf("the %s has no rule to both clusters' workers", a.kind)
}

// weights reads the split's two weights from the object.
func (a trafficAPI) weights(o map[string]any) (primary, burst int64, err error) {
	rules, _, _ := unstructured.NestedSlice(o, a.rules...)
	p, b, err := a.pair(rules)
	if err != nil {
		return 0, 0, err
	}
	return num(p["weight"]), num(b["weight"]), nil
}

// setWeights sets the split's weights in the object, as the burster does.
func (a trafficAPI) setWeights(t testing.TB, o map[string]any, primary, burst int) {
	t.Helper()
	rules, _, _ := unstructured.NestedSlice(o, a.rules...) // a copy: written back below
	p, b, err := a.pair(rules)
	if err != nil {
		t.Fatal(err)
	}
	p["weight"], b["weight"] = int64(primary), int64(burst)
	if err := unstructured.SetNestedSlice(o, rules, a.rules...); err != nil {
		t.Fatal(err)
	}
}

// wantRoute is what the frontend's sidecar route must split for the
// weights: istiod leaves out the destinations weighted 0.
func (a trafficAPI) wantRoute(primary, burst int) map[string]uint32 {
	out := map[string]uint32{}
	if primary > 0 {
		out[a.sidecarCluster("primary")] = uint32(primary)
	}
	if burst > 0 {
		out[a.sidecarCluster("burst")] = uint32(burst)
	}
	return out
}

// changeWeights writes the worker object's weights in a cluster, as the
// burster does, and returns the function that puts the object back.
func (a trafficAPI) changeWeights(t *testing.T, c *mesh.Cluster, primary, burst int) func() {
	t.Helper()
	return change(t, workerObject(t, c, a.gvr), "worker", func(o map[string]any) { a.setWeights(t, o, primary, burst) })
}
