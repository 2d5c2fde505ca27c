package v1alpha1

import (
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BurstPolicyStatus is what the burster measured and decided for the
// policy. It is also what a new leader continues from: the dwell counts
// from LastChangeTime, and slo starts from LearnedCapacityRPS.
type BurstPolicyStatus struct {
	// ObservedGeneration is the spec's generation this status was made
	// under.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Route is the routing object, as kind/name.
	// +optional
	Route string `json:"route,omitempty"`

	// Weights are the route's weights as last read or written, in the
	// spec's order; unset until read.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Weights []DestinationWeight `json:"weights,omitempty"`

	// Split is Weights for people and kubectl: the weights in spill order,
	// joined by "/" ("80/20").
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Split string `json:"split,omitempty"`

	// RateRPS is the route's measured rate; unset when the last
	// measurement failed.
	// +optional
	RateRPS *float64 `json:"rateRps,omitempty"`

	// Destinations are each destination's traffic, readiness and service
	// level, in the spec's order.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Destinations []DestinationStatus `json:"destinations,omitempty"`

	// LearnedCapacityRPS is the rate home was measured to serve within its
	// objective (slo); unset until measured.
	// +optional
	LearnedCapacityRPS *float64 `json:"learnedCapacityRps,omitempty"`

	// LastChangeTime is when the weights last changed, to the microsecond:
	// a new leader's dwell counts from it.
	// +optional
	LastChangeTime *metav1.MicroTime `json:"lastChangeTime,omitempty"`

	// Changes are the last changes, oldest first.
	// +kubebuilder:validation:MaxItems=10
	// +listType=atomic
	// +optional
	Changes []Change `json:"changes,omitempty"`

	// Conditions are Ready, Bursting and Degraded.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// SplitOf is the Split of weights.
func SplitOf(weights []DestinationWeight) string {
	parts := make([]string, len(weights))
	for i, w := range weights {
		parts[i] = strconv.Itoa(int(w.Weight))
	}
	return strings.Join(parts, "/")
}

// DestinationWeight is one destination's share of the route, in percent.
type DestinationWeight struct {
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Weight int32 `json:"weight"`
}

// DestinationStatus is one destination's traffic, readiness and service
// level; a value the burster did not measure is unset.
type DestinationStatus struct {
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// RateRPS is the rate sent there.
	// +optional
	RateRPS *float64 `json:"rateRps,omitempty"`
	// FailedRPS is the part of it that failed (a 5xx, or no answer).
	// +optional
	FailedRPS *float64 `json:"failedRps,omitempty"`
	// ReadyEndpoints are its ready workers.
	// +optional
	ReadyEndpoints *int32 `json:"readyEndpoints,omitempty"`
	// SLI is the share of its requests that were good over the SLO window.
	// +optional
	SLI *float64 `json:"sli,omitempty"`
	// Burn is (1 - SLI) / (1 - target): above 1 spends the error budget
	// too fast.
	// +optional
	Burn *float64 `json:"burn,omitempty"`
}

// ChangeReason says why the weights changed; it is also the reason of the
// Kubernetes event recorded for the change.
//
// +kubebuilder:validation:Enum=WeightsChanged;DriftCorrected;FailSafe;DryRun;BurstNotReady;BurstReady
type ChangeReason string

// The reasons of a change.
const (
	ChangeWeightsChanged ChangeReason = "WeightsChanged" // the strategy moved them
	ChangeDriftCorrected ChangeReason = "DriftCorrected" // someone else moved them; put back
	ChangeFailSafe       ChangeReason = "FailSafe"       // measurements kept failing
	ChangeDryRun         ChangeReason = "DryRun"         // decided, not written
	ChangeBurstNotReady  ChangeReason = "BurstNotReady"  // a destination has no ready worker
	ChangeBurstReady     ChangeReason = "BurstReady"     // it has again
)

// Change is one change of the weights.
type Change struct {
	Time metav1.Time `json:"time"`
	// Weights are the weights it wrote.
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	Weights []DestinationWeight `json:"weights"`
	Reason  ChangeReason        `json:"reason"`
	// RateRPS is the rate it was decided on; unset when none was measured.
	// +optional
	RateRPS *float64 `json:"rateRps,omitempty"`
	// Message is the strategy's account of it, for people.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Message string `json:"message,omitempty"`
}

// The condition types.
const (
	// ConditionReady: the route is found and the load measured; the
	// burster is moving its weights.
	ConditionReady = "Ready"
	// ConditionBursting: some of the route's traffic goes beyond home.
	ConditionBursting = "Bursting"
	// ConditionDegraded: the burster cannot do all the policy asks.
	ConditionDegraded = "Degraded"
)

// ConditionReason is the machine-readable reason of a condition.
type ConditionReason string

// The condition reasons.
const (
	ReasonReconciled        ConditionReason = "Reconciled"        // Ready: all is well
	ReasonInvalid           ConditionReason = "Invalid"           // the spec breaks a rule, or what it names cannot be read
	ReasonUnsupported       ConditionReason = "Unsupported"       // valid, but not what this burster can run
	ReasonNoData            ConditionReason = "NoData"            // the measurement returned nothing
	ReasonMeasurementFailed ConditionReason = "MeasurementFailed" // the measurement failed
	ReasonRouteNotFound     ConditionReason = "RouteNotFound"     // the route does not exist
	ReasonRouteUnsupported  ConditionReason = "RouteUnsupported"  // it has no rule to the destinations
	ReasonRouterUnreachable ConditionReason = "RouterUnreachable" // the route's API cannot be reached
	ReasonRouterForbidden   ConditionReason = "RouterForbidden"   // the burster may not read or write the route
	ReasonBurstNotReady     ConditionReason = "BurstNotReady"     // a destination has no ready worker
	ReasonBothOverObjective ConditionReason = "BothOverObjective" // home and the next are both over their objective
	ReasonHome              ConditionReason = "Home"              // Bursting False: all at home
	ReasonSpilling          ConditionReason = "Spilling"          // Bursting True
)
