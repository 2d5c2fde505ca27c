package router

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// HTTPRoutes is the resource the Gateway API router changes: the Gateway
// API's v1 (standard channel) HTTPRoute.
var HTTPRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// NewGatewayAPI returns a router for the HTTPRoute namespace/name: it moves
// the weights of every rule whose backendRefs are exactly the targets'
// Services (one per cluster's workers: HTTPRoute has no subsets) in the
// route's namespace, in one update.
func NewGatewayAPI(client dynamic.Interface, namespace, name string, targets []Target) *Object {
	return newObject(client, HTTPRoutes, namespace, name, shape{
		kind: "HTTPRoute", rules: []string{"spec", "rules"}, dests: "backendRefs", what: "backends",
		targets: targets,
		target: func(ref map[string]any) string {
			group, _ := ref["group"].(string)
			kind, _ := ref["kind"].(string)
			ns, _ := ref["namespace"].(string)
			name, _ := ref["name"].(string)
			if group != "" || (kind != "" && kind != "Service") || (ns != "" && ns != namespace) {
				return "" // not a Service of this namespace: never a target
			}
			return name
		},
		// The Gateway API's default weight.
		defaultWeight: 1,
	})
}
