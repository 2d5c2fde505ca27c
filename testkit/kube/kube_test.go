package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

func TestCRDsServed(t *testing.T) {
	env := Start(t)
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, gv := range []schema.GroupVersion{
		{Group: "networking.istio.io", Version: "v1"},
		{Group: "security.istio.io", Version: "v1"},
		{Group: "gateway.networking.k8s.io", Version: "v1"},
	} {
		res, err := dc.ServerResourcesForGroupVersion(gv.String())
		if err != nil {
			t.Fatalf("%s not served: %v", gv, err)
		}
		if len(res.APIResources) == 0 {
			t.Fatalf("%s serves no resources", gv)
		}
	}
}
