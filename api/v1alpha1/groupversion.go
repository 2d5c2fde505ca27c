// Package v1alpha1 is version v1alpha1 of the cloudburst.dev API group: the
// BurstPolicy, which names a route, the clusters it spills to in order, how
// the load is measured and the strategy that moves the weights, and reports
// in its status what the burster measured and decided.
//
// The CRD in k8s/base/crd is generated from these types (make generate);
// its OpenAPI ranges and CEL rules are what the API server checks at
// admission, and Validate applies the same rules to a policy read from a
// file, naming the same fields.
//
// +kubebuilder:object:generate=true
// +groupName=cloudburst.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Group is the API group.
const Group = "cloudburst.dev"

// GroupVersion is the group and version of these types.
var GroupVersion = schema.GroupVersion{Group: Group, Version: "v1alpha1"}

// Kind and Resource name the BurstPolicy in the API.
const (
	Kind     = "BurstPolicy"
	Resource = "burstpolicies"
)

// GroupVersionResource is the BurstPolicy's resource, for dynamic clients.
var GroupVersionResource = GroupVersion.WithResource(Resource)

var (
	schemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the BurstPolicy types to a scheme.
	AddToScheme = schemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &BurstPolicy{}, &BurstPolicyList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
