package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BurstPolicy moves the weights of one route between clusters in spill
// order, by the load and latency measured at the route's source.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=bp,categories=cloudburst
// +kubebuilder:printcolumn:name="VirtualService",type=string,JSONPath=`.spec.route.virtualService.name`,priority=1
// +kubebuilder:printcolumn:name="HTTPRoute",type=string,JSONPath=`.spec.route.httpRoute.name`,priority=1
// +kubebuilder:printcolumn:name="Route",type=string,JSONPath=`.status.route`
// +kubebuilder:printcolumn:name="Strategy",type=string,JSONPath=`.spec.strategy.type`
// +kubebuilder:printcolumn:name="Weights",type=string,JSONPath=`.status.split`
// +kubebuilder:printcolumn:name="Rate",type=number,JSONPath=`.status.rateRps`
// +kubebuilder:printcolumn:name="SLI",type=number,JSONPath=`.status.destinations[0].sli`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Bursting",type=string,JSONPath=`.status.conditions[?(@.type=="Bursting")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BurstPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BurstPolicySpec   `json:"spec"`
	Status BurstPolicyStatus `json:"status,omitempty"`
}

// BurstPolicyList is a list of BurstPolicies.
//
// +kubebuilder:object:root=true
type BurstPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BurstPolicy `json:"items"`
}

// BurstPolicySpec is what the burster does for one route.
//
// +kubebuilder:validation:XValidation:rule="has(self.route.virtualService) ? self.destinations.all(d, has(d.subset)) : true",message="every destination needs a subset when the route is a VirtualService",fieldPath=".destinations"
// +kubebuilder:validation:XValidation:rule="has(self.route.httpRoute) ? self.destinations.all(d, has(d.backendRef)) : true",message="every destination needs a backendRef when the route is an HTTPRoute",fieldPath=".destinations"
// +kubebuilder:validation:XValidation:rule="duration(self.interval) > duration('0s')",message="interval must be above 0",fieldPath=".interval"
// +kubebuilder:validation:XValidation:rule="duration(self.timeout) > duration('0s')",message="timeout must be above 0",fieldPath=".timeout"
// +kubebuilder:validation:XValidation:rule="duration(self.strategy.slo.window) > duration('0s')",message="window must be above 0",fieldPath=".strategy.slo.window"
// +kubebuilder:validation:XValidation:rule="size(self.destinations) == 0 || !has(self.destinations[0].prescale)",message="the first destination is home: it is not pre-scaled",fieldPath=".destinations"
// +kubebuilder:validation:XValidation:rule="self.strategy.type != 'slo' || !has(self.measurement.prometheus) || duration(self.strategy.slo.window) >= duration(self.measurement.prometheus.scrapeInterval) + duration(self.measurement.prometheus.scrapeInterval) + duration(self.measurement.prometheus.scrapeInterval) + duration(self.measurement.prometheus.scrapeInterval)",message="the SLO window must hold at least four of Prometheus' scrape intervals",fieldPath=".strategy.slo.window"
// +kubebuilder:validation:XValidation:rule="self.strategy.type != 'slo' || !has(self.measurement.scrape) || duration(self.strategy.slo.window) >= duration(self.interval) + duration(self.interval) + duration(self.interval) + duration(self.interval)",message="the SLO window must hold at least four intervals (each measurement scrapes)",fieldPath=".strategy.slo.window"
// +kubebuilder:validation:XValidation:rule="self.strategy.type != 'spillover' || self.strategy.capacityRps > 0.0 || self.strategy.capacityPerEndpointRps > 0.0",message="spillover needs capacityRps or capacityPerEndpointRps above 0",fieldPath=".strategy.capacityRps"
// +kubebuilder:validation:XValidation:rule="!self.destinations.exists(d, has(d.prescale)) || self.strategy.capacityPerEndpointRps > 0.0",message="pre-scaling sizes the workers from capacityPerEndpointRps: it must be above 0",fieldPath=".strategy.capacityPerEndpointRps"
// +kubebuilder:validation:XValidation:rule="self.strategy.type != 'spillover' || !self.destinations.exists(d, has(d.prescale))",message="spillover has no rate below its switch to warm from: pre-scale under switch, step or slo",fieldPath=".destinations"
// +kubebuilder:validation:XValidation:rule="self.strategy.type == 'slo' || self.strategy.type == 'spillover' || self.destinations.all(d, !has(d.prescale) || d.prescale.warmRps < self.strategy.highRps)",message="warmRps must be below the strategy's highRps",fieldPath=".destinations"
// +kubebuilder:validation:XValidation:rule="size(self.destinations) <= 2 || self.strategy.type == 'spillover' || self.strategy.type == 'slo'",message="only spillover and slo spill across more than two destinations: switch and step move between two",fieldPath=".destinations"
// +kubebuilder:validation:XValidation:rule="self.strategy.type == 'spillover' || self.strategy.type == 'slo' || self.destinations.all(d, !has(d.capacityRps))",message="a destination's capacityRps is spillover's and slo's",fieldPath=".destinations"
// +kubebuilder:validation:XValidation:rule="size(self.destinations) == 0 || !has(self.destinations[0].capacityRps)",message="the first destination is home: its capacity is strategy.capacityRps",fieldPath=".destinations"
// +kubebuilder:validation:XValidation:rule="size(self.destinations) == 0 || !has(self.destinations[size(self.destinations) - 1].capacityRps)",message="the last destination takes the rest: it has no capacityRps",fieldPath=".destinations"
type BurstPolicySpec struct {
	Route Route `json:"route"`

	// Destinations are the clusters the route's traffic goes to, in spill
	// order: the first is home (primary), each next one takes what the
	// ones before it cannot, and the last takes the rest. More than two
	// only under spillover.
	// +kubebuilder:validation:MinItems=2
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=name
	Destinations []Destination `json:"destinations"`

	Measurement Measurement `json:"measurement"`

	Strategy Strategy `json:"strategy"`

	// Interval is the time between two measurements (and decisions).
	// +kubebuilder:default="1s"
	// +optional
	Interval Duration `json:"interval,omitempty"`

	// MinDwell is the least time between two changes of the weights,
	// counted from status.lastChangeTime (slo sizes its moves and ignores
	// it).
	// +kubebuilder:default="5s"
	// +optional
	MinDwell Duration `json:"minDwell,omitempty"`

	// Timeout bounds each call the burster makes for this policy: a query,
	// a scrape, the route, a remote cluster.
	// +kubebuilder:default="2s"
	// +optional
	Timeout Duration `json:"timeout,omitempty"`

	// FailureThreshold is how many measurements in a row may fail before
	// the fail-safe.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +kubebuilder:default=5
	// +optional
	FailureThreshold int32 `json:"failureThreshold,omitempty"`

	// FailSafe is what happens once measurements keep failing: hold the
	// weights, or send everything home.
	// +kubebuilder:default=hold
	// +optional
	FailSafe FailSafe `json:"failSafe,omitempty"`

	// DryRun decides and reports, and never writes the route.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
}

// Duration is a Go duration: a sequence of numbers with units h, m, s or
// ms ("1s", "1m30s", "250ms").
//
// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$`
// +kubebuilder:validation:MaxLength=32
type Duration string

// Route names the routing object whose weights the policy moves: exactly
// one kind, in the policy's own namespace.
//
// +kubebuilder:validation:XValidation:rule="[has(self.virtualService), has(self.httpRoute), has(self.localMesh)].filter(x, x).size() == 1",message="exactly one of virtualService, httpRoute and localMesh must be set"
type Route struct {
	// VirtualService is an Istio VirtualService whose HTTP routes to the
	// destinations' subsets carry the weights.
	// +optional
	VirtualService *ObjectName `json:"virtualService,omitempty"`

	// HTTPRoute is a Gateway API HTTPRoute whose rules to the
	// destinations' backendRefs carry the weights.
	// +optional
	HTTPRoute *ObjectName `json:"httpRoute,omitempty"`

	// LocalMesh is the demo's mesh on one machine, through its admin API.
	// +optional
	LocalMesh *LocalMesh `json:"localMesh,omitempty"`
}

// ObjectName names an object in the policy's namespace.
type ObjectName struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Name string `json:"name"`
}

// LocalMesh is the demo's mesh.
type LocalMesh struct {
	// AdminURL is its admin API.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	AdminURL string `json:"adminURL"`
}

// Destination is one cluster the route's traffic may go to.
//
// +kubebuilder:validation:XValidation:rule="!has(self.prescale) || (has(self.readiness) && has(self.readiness.service))",message="pre-scaling waits for the destination's ready workers: set readiness.service (in the HPA's cluster)",fieldPath=".prescale"
type Destination struct {
	// Name names the destination in the status, the metrics and the page
	// (primary, burst).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// Subset is the VirtualService's subset of this cluster's workers.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Subset string `json:"subset,omitempty"`

	// BackendRef is the HTTPRoute's backend (a Service) of this cluster's
	// workers.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	BackendRef string `json:"backendRef,omitempty"`

	// Readiness says how this destination's ready workers are read; no
	// weight goes to a destination without one. Unset: not read.
	// +optional
	Readiness *Readiness `json:"readiness,omitempty"`

	// CapacityRPS is the rate, in req/s, this destination carries under
	// spillover or slo before the next one takes the rest: neither home's
	// (that is strategy.capacityRps, or under slo what it learns) nor the
	// last's (it takes the rest). Unset:
	// its ready endpoints × strategy.capacityPerEndpointRps when its
	// readiness is read from a Service, else without limit.
	// +kubebuilder:validation:Minimum=0
	// +optional
	CapacityRPS *float64 `json:"capacityRps,omitempty"`

	// Prescale raises this destination's HPA ahead of a burst.
	// +optional
	Prescale *Prescale `json:"prescale,omitempty"`
}

// Readiness is where a destination's ready workers are counted.
//
// +kubebuilder:validation:XValidation:rule="has(self.service) != (has(self.fromRouter) && self.fromRouter)",message="set exactly one of service and fromRouter"
// +kubebuilder:validation:XValidation:rule="!has(self.kubeconfigSecret) || has(self.service)",message="kubeconfigSecret reaches a cluster's Service: set service",fieldPath=".kubeconfigSecret"
type Readiness struct {
	// Service's ready endpoints (EndpointSlices) are the workers counted:
	// in this cluster, or in the one KubeconfigSecret reaches, in the
	// namespace of the same name as the policy's.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Service string `json:"service,omitempty"`

	// KubeconfigSecret holds a kubeconfig for the destination's cluster,
	// in the policy's namespace. Unset: the Service is in this cluster.
	// +optional
	KubeconfigSecret *SecretKeyRef `json:"kubeconfigSecret,omitempty"`

	// FromRouter reads the readiness from the router itself (the local
	// mesh knows whether each destination's backend answers).
	// +optional
	FromRouter bool `json:"fromRouter,omitempty"`
}

// SecretKeyRef is one key of a Secret in the policy's namespace.
type SecretKeyRef struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:default=kubeconfig
	// +optional
	Key string `json:"key,omitempty"`
}

// Prescale raises a destination's HorizontalPodAutoscaler's minReplicas
// ahead of a burst, to the workers the whole rate needs, and puts it back
// after the cool-down.
type Prescale struct {
	// HPA is the HorizontalPodAutoscaler in the destination's cluster.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	HPA string `json:"hpa"`

	// WarmRPS is the rate from which the workers are raised: below the
	// strategy's highRps (under slo, where home nears its capacity).
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +kubebuilder:validation:Minimum=0
	WarmRPS float64 `json:"warmRps"`

	// Cooldown is the time all at home, below warmRps, before minReplicas
	// is put back.
	// +kubebuilder:default="5m"
	// +optional
	Cooldown Duration `json:"cooldown,omitempty"`

	// Wait is the longest wait for the raised workers before the first
	// shift.
	// +kubebuilder:default="60s"
	// +optional
	Wait Duration `json:"wait,omitempty"`
}

// Measurement is where the load and latency are read: exactly one source.
//
// +kubebuilder:validation:XValidation:rule="has(self.prometheus) != has(self.scrape)",message="exactly one of prometheus and scrape must be set"
type Measurement struct {
	// +optional
	Prometheus *PrometheusMeasurement `json:"prometheus,omitempty"`
	// +optional
	Scrape *ScrapeMeasurement `json:"scrape,omitempty"`
}

// PrometheusMeasurement reads the load from Prometheus. Every query left
// empty is Istio's for the route's kind.
type PrometheusMeasurement struct {
	// URL is the Prometheus API.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	URL string `json:"url"`

	// Query gives one value: the route's rate in req/s.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Query string `json:"query,omitempty"`

	// DestinationsQuery gives req/s by the labels destination and code.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	DestinationsQuery string `json:"destinationsQuery,omitempty"`

	// LatencyQuery gives each latency bucket's increase over $window by
	// destination, le and code.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	LatencyQuery string `json:"latencyQuery,omitempty"`

	// BudgetQuery gives each destination's burn rate by the labels
	// cluster and window (the recording rules in deploy/prometheus).
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	BudgetQuery string `json:"budgetQuery,omitempty"`

	// SecurityQuery gives req/s by the labels destination and security.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	SecurityQuery string `json:"securityQuery,omitempty"`

	// ScrapeInterval is how often Prometheus scrapes the sidecars.
	// +kubebuilder:default="2s"
	// +optional
	ScrapeInterval Duration `json:"scrapeInterval,omitempty"`
}

// ScrapeMeasurement reads a Prometheus text endpoint itself, every
// interval (the demo's mesh).
type ScrapeMeasurement struct {
	// URL is the endpoint.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	URL string `json:"url"`

	// Metric is the request counter.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Metric string `json:"metric"`

	// Labels select the counter's series.
	// +kubebuilder:validation:MaxProperties=16
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Window is the window of the rate.
	// +kubebuilder:default="5s"
	// +optional
	Window Duration `json:"window,omitempty"`

	// DestinationLabel is the counter's label naming the destination.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	DestinationLabel string `json:"destinationLabel,omitempty"`

	// CodeLabel is the counter's label holding the response code.
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:default=code
	// +optional
	CodeLabel string `json:"codeLabel,omitempty"`

	// LatencyMetric is the latency histogram (ms), labelled as the counter.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	LatencyMetric string `json:"latencyMetric,omitempty"`
}
