package v1alpha1

// StrategyType names how the weights move.
//
// +kubebuilder:validation:Enum=switch;step;spillover;slo
type StrategyType string

// The strategies.
const (
	// StrategySwitch sends all to the next destination above highRps, all
	// home again below lowRps.
	StrategySwitch StrategyType = "switch"
	// StrategyStep moves the next destination's share a step at a time.
	StrategyStep StrategyType = "step"
	// StrategySpillover keeps home at its capacity and spills the excess.
	StrategySpillover StrategyType = "spillover"
	// StrategySLO holds home at its latency objective and spills the
	// excess.
	StrategySLO StrategyType = "slo"
)

// Strategies lists every strategy.
var Strategies = []StrategyType{StrategySwitch, StrategyStep, StrategySpillover, StrategySLO}

// FailSafe is what the burster does once measurements keep failing.
//
// +kubebuilder:validation:Enum=hold;home
type FailSafe string

// The fail-safes.
const (
	FailSafeHold FailSafe = "hold" // keep the weights
	FailSafeHome FailSafe = "home" // everything to the first destination
)

// Strategy is how the weights move, and its parameters: each strategy reads
// those its type names.
//
// +kubebuilder:validation:XValidation:rule="self.type == 'spillover' || self.type == 'slo' || self.lowRps < self.highRps",message="lowRps must be below highRps",fieldPath=".lowRps"
type Strategy struct {
	Type StrategyType `json:"type"`

	// HighRPS (switch, step): burst above this rate.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=15
	// +optional
	HighRPS float64 `json:"highRps,omitempty"`

	// LowRPS (switch, step): back home below this rate (0 is a rate: a
	// pointer tells it from unset).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=10
	// +optional
	LowRPS *float64 `json:"lowRps,omitempty"`

	// Step (step): percent per change; (spillover): the rounding of the
	// shares.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:default=20
	// +optional
	Step int32 `json:"step,omitempty"`

	// CapacityRPS (spillover): the rate home keeps.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=15
	// +optional
	CapacityRPS float64 `json:"capacityRps,omitempty"`

	// CapacityPerEndpointRPS (spillover, pre-scaling): above 0, home keeps
	// this × its ready workers instead of capacityRps, and a pre-scaled
	// destination is given the workers the rate needs at this rate each.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=0
	// +optional
	CapacityPerEndpointRPS float64 `json:"capacityPerEndpointRps,omitempty"`

	// SLO is the latency objective: what slo holds home to, and what the
	// status and the page judge every destination by.
	// +kubebuilder:default={}
	// +optional
	SLO *SLO `json:"slo,omitempty"`
}

// SLO is a latency objective: a share Target of the requests are good
// (answered, not 5xx, within LatencyMS), judged over Window.
//
// +kubebuilder:validation:XValidation:rule="!has(self.buckets) || !has(self.latencyMs) || self.buckets.exists(b, b == self.latencyMs)",message="latencyMs must be one of the buckets: the histogram counts only at its boundaries",fieldPath=".latencyMs"
type SLO struct {
	// LatencyMS is the latency within which a request is good, in ms.
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=250
	// +optional
	LatencyMS float64 `json:"latencyMs,omitempty"`

	// Target is the share of requests that must be good (0.99 is 99%).
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:ExclusiveMaximum=true
	// +kubebuilder:validation:Maximum=1
	// +kubebuilder:default=0.99
	// +optional
	Target float64 `json:"target,omitempty"`

	// Window is the window of the SLI and burn rate: at least four scrape
	// intervals.
	// +kubebuilder:default="30s"
	// +optional
	Window Duration `json:"window,omitempty"`

	// MinRequests is the fewest requests in the window that are judged;
	// fewer is no data, and slo holds.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:default=20
	// +optional
	MinRequests float64 `json:"minRequests,omitempty"`

	// Probe (slo) is the time without queueing after which home is offered
	// headroom more than it carries, doubling while it stays within its
	// objective; "0s": never.
	// +kubebuilder:default="5m"
	// +optional
	Probe Duration `json:"probe,omitempty"`

	// Headroom (slo) is the share of home's learned capacity left unused,
	// and the most a probe offers beyond what it carries.
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=0.5
	// +kubebuilder:default=0.05
	// +optional
	Headroom float64 `json:"headroom,omitempty"`

	// Buckets are the latency histogram's bucket boundaries in ms: by
	// default Istio's (the local mesh's too).
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:default={0.5,1,5,10,25,50,100,250,500,1000,2500,5000,10000,30000,60000,300000,600000,1800000,3600000}
	// +optional
	Buckets []float64 `json:"buckets,omitempty"`
}
