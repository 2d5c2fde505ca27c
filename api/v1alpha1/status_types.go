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

	// BudgetPeriod is the period of each destination's error budget: "3d"
	// from the recording rules in the clusters, "since the counters
	// started" in the demo; unset when the budget is not measured.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	BudgetPeriod string `json:"budgetPeriod,omitempty"`

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
	// Requests are its requests in the SLO window (the SLI is unset below
	// strategy.slo.minRequests).
	// +optional
	Requests *float64 `json:"requests,omitempty"`
	// Failing: it was sent requests and at least half of them failed. They
	// still count as load.
	// +optional
	Failing bool `json:"failing,omitempty"`
	// CapacityRPS is what it carries as the strategy counts it: its ready
	// workers × strategy.capacityPerEndpointRps (spillover).
	// +optional
	CapacityRPS *float64 `json:"capacityRps,omitempty"`
	// Reachable says whether its cluster's API answered the last read of
	// its readiness; unset when that is not read through a kubeconfig.
	// +optional
	Reachable *bool `json:"reachable,omitempty"`
	// PrescaledTo is its HPA's minReplicas as raised ahead of a burst;
	// unset when not raised.
	// +optional
	PrescaledTo *int32 `json:"prescaledTo,omitempty"`
	// Security is how its requests travel, as the mesh reports it
	// (Istio's connection_security_policy: mutual_tls, none); unset when
	// not measured.
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Security string `json:"security,omitempty"`
	// Budget is its error budget over status.budgetPeriod; unset when not
	// measured.
	// +optional
	Budget *ErrorBudget `json:"budget,omitempty"`
}

// ErrorBudget is a destination's error budget.
type ErrorBudget struct {
	// Burns are its burn rates over the short windows, shortest first.
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	// +optional
	Burns []BurnRate `json:"burns,omitempty"`
	// Left is the share of the period's budget left: 1 untouched, 0 or
	// less spent.
	// +optional
	Left *float64 `json:"left,omitempty"`
}

// BurnRate is a burn rate over a window.
type BurnRate struct {
	// Window is the window, in Prometheus' notation ("5m", "1h").
	// +kubebuilder:validation:MaxLength=16
	Window string  `json:"window"`
	Rate   float64 `json:"rate"`
}

// ChangeReason says why the burster acted; it is also the reason of the
// Kubernetes event recorded for it. The status lists the first six (what
// moved or held the weights); the burster's /api/changes lists every one.
//
// +kubebuilder:validation:Enum=WeightsChanged;DriftCorrected;FailSafe;DryRun;BurstNotReady;BurstReady;UpdateFailed;PreScaled;ScaledBack;DestinationFailing;DestinationRecovered
type ChangeReason string

// The reasons of a change.
const (
	ChangeWeightsChanged ChangeReason = "WeightsChanged" // the strategy moved them
	ChangeDriftCorrected ChangeReason = "DriftCorrected" // someone else moved them; put back
	ChangeFailSafe       ChangeReason = "FailSafe"       // measurements kept failing
	ChangeDryRun         ChangeReason = "DryRun"         // decided, not written
	ChangeBurstNotReady  ChangeReason = "BurstNotReady"  // a destination has no ready worker
	ChangeBurstReady     ChangeReason = "BurstReady"     // it has again

	ChangeUpdateFailed         ChangeReason = "UpdateFailed"         // decided, the write failed: decided again next time
	ChangePreScaled            ChangeReason = "PreScaled"            // a destination's HPA minReplicas raised ahead of a burst
	ChangeScaledBack           ChangeReason = "ScaledBack"           // put back after the cool-down
	ChangeDestinationFailing   ChangeReason = "DestinationFailing"   // at least half its requests fail
	ChangeDestinationRecovered ChangeReason = "DestinationRecovered" // no longer failing
)

// MovesWeights says whether a change of this reason is one the status
// lists: it moved the weights or held them for a reason a person must see.
func (r ChangeReason) MovesWeights() bool {
	switch r {
	case ChangeWeightsChanged, ChangeDriftCorrected, ChangeFailSafe, ChangeDryRun, ChangeBurstNotReady, ChangeBurstReady:
		return true
	}
	return false
}

// Change is one decision of the burster.
type Change struct {
	// Time is when it was decided, to the microsecond, as lastChangeTime.
	Time metav1.MicroTime `json:"time"`
	// Weights are the weights it wrote (or, for a reason that does not
	// move them, left).
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	Weights []DestinationWeight `json:"weights"`
	Reason  ChangeReason        `json:"reason"`
	// RateRPS is the rate it was decided on; unset when none was measured.
	// +optional
	RateRPS *float64 `json:"rateRps,omitempty"`
	// SLI and Burn are home's, as the slo strategy judged them for the
	// decision; unset under other strategies or when home was not judged.
	// +optional
	SLI *float64 `json:"sli,omitempty"`
	// +optional
	Burn *float64 `json:"burn,omitempty"`
	// Message is the strategy's account of it, for people.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Message string `json:"message,omitempty"`
}

// ChangeList is the body of the burster's GET /api/changes: a policy's
// recent decisions of every reason, oldest first.
type ChangeList struct {
	metav1.TypeMeta `json:",inline"`
	Items           []Change `json:"items"`
}

// ChangeListKind is ChangeList's kind.
const ChangeListKind = "BurstPolicyChangeList"

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

// Destination is the named destination's status; nil when it has none.
func (s BurstPolicyStatus) Destination(name string) *DestinationStatus {
	for i := range s.Destinations {
		if s.Destinations[i].Name == name {
			return &s.Destinations[i]
		}
	}
	return nil
}

// Weight is the named destination's weight in weights; -1 when it has
// none.
func Weight(weights []DestinationWeight, name string) int {
	for _, w := range weights {
		if w.Name == name {
			return int(w.Weight)
		}
	}
	return -1
}

// Condition is the condition of type typ; nil when the status has none.
func (s BurstPolicyStatus) Condition(typ string) *metav1.Condition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == typ {
			return &s.Conditions[i]
		}
	}
	return nil
}

// Has reports whether the condition of type typ has status and reason.
func (s BurstPolicyStatus) Has(typ string, status metav1.ConditionStatus, reason ConditionReason) bool {
	c := s.Condition(typ)
	return c != nil && c.Status == status && c.Reason == string(reason)
}
