package router

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// VirtualServices is the resource the Istio router changes: Istio's v1 API.
var VirtualServices = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}

// NewIstio returns a router for the VirtualService namespace/name: it moves
// the weights of every HTTP route whose destinations are exactly the
// targets' subsets (of a DestinationRule that tells the clusters apart, one
// subset per cluster), in one update.
func NewIstio(client dynamic.Interface, namespace, name string, targets []Target) *Object {
	return newObject(client, VirtualServices, namespace, name, shape{
		kind: "VirtualService", rules: []string{"spec", "http"}, dests: "route", what: "subsets",
		targets: targets,
		target: func(dest map[string]any) string {
			d, _ := dest["destination"].(map[string]any)
			subset, _ := d["subset"].(string)
			return subset
		},
		// Istio sends nothing to a destination without a weight when
		// another has one.
		defaultWeight: 0,
	})
}
