// Package bursterapi is the burster's HTTP API as JSON: GET /api/status,
// which the frontend polls to show the split and the decisions on its page,
// and GET /api/changes. The burster serves these types and the frontend
// decodes them; nothing else describes their shape.
package bursterapi

import (
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// Paths of the burster's API.
const (
	StatusPath  = "/api/status"
	ChangesPath = "/api/changes"
)

// Kind says what kind of decision a Change records; it is also the reason of
// the Kubernetes event the burster records for it.
type Kind string

// The kinds of change.
const (
	WeightsChanged Kind = "WeightsChanged" // the policy moved the weights
	DriftCorrected Kind = "DriftCorrected" // someone else moved them; put back
	FailSafe       Kind = "FailSafe"       // measurements kept failing
	DryRun         Kind = "DryRun"         // decided, not written (DRY_RUN)
	UpdateFailed   Kind = "UpdateFailed"   // decided, but the write failed: decided again next tick

	BurstNotReady Kind = "BurstNotReady" // held, or back to primary: burst has no ready worker
	BurstReady    Kind = "BurstReady"    // burst has ready workers again
	PreScaled     Kind = "PreScaled"     // the burst HPA's minReplicas raised ahead of a burst
	ScaledBack    Kind = "ScaledBack"    // the burst HPA's minReplicas put back after the cool-down

	// Not changes of the weights: the health of a destination changed.
	DestinationFailing   Kind = "DestinationFailing"   // at least half its requests fail
	DestinationRecovered Kind = "DestinationRecovered" // no longer failing
)

// Destination is the traffic one destination was sent over the burster's
// measuring window, as the mesh reports it.
type Destination struct {
	RPS       float64 `json:"rps"`       // requests per second sent there
	FailedRPS float64 `json:"failedRps"` // of which failed: a 5xx, or no answer
	// Failing: it was sent requests and at least half of them failed. A
	// burst destination answering only errors shows here, while its
	// requests still count as load.
	Failing bool `json:"failing"`
}

// Capacity is primary's live capacity: its ready workers × what one serves.
type Capacity struct {
	RPS            float64 `json:"rps"`
	ReadyEndpoints int     `json:"readyEndpoints"`
}

// Burst is the burst cluster's readiness, as the burster reads it through
// BURST_KUBECONFIG.
type Burst struct {
	ReadyEndpoints int  `json:"readyEndpoints"`
	Reachable      bool `json:"reachable"` // its API answered; if not, it counts as not ready
	// Blocked: weights are kept off burst because it has no ready worker.
	Blocked bool `json:"blocked"`
	// PrescaledTo is the burst HPA's minReplicas as the burster raised it
	// ahead of a burst; 0 when not raised (or pre-scaling is off).
	PrescaledTo int32 `json:"prescaledTo,omitempty"`
}

// Destinations is each destination's traffic.
type Destinations struct {
	Primary Destination `json:"primary"`
	Burst   Destination `json:"burst"`
}

// Change is one decision of the burster.
type Change struct {
	At     time.Time   `json:"at"`
	From   split.Split `json:"from"`
	To     split.Split `json:"to"`
	RPS    *float64    `json:"rps,omitempty"` // nil when no rate was measured
	Reason string      `json:"reason"`
	Kind   Kind        `json:"kind"`
	// SLI and Burn are primary's, as the slo strategy judged them for this
	// decision; nil under other strategies or when primary was not judged.
	SLI  *float64 `json:"sli,omitempty"`
	Burn *float64 `json:"burn,omitempty"`
}

// Judgement is one destination's service level over the SLO window.
type Judgement struct {
	Requests float64  `json:"requests"`       // in the window
	SLI      *float64 `json:"sli,omitempty"`  // good / requests; nil: too few requests to judge
	Burn     *float64 `json:"burn,omitempty"` // (1 - SLI) / (1 - target); above 1 spends the budget too fast
}

// SLO is the slo strategy's objective and its last reading.
type SLO struct {
	LatencyMS     float64 `json:"latencyMs"`     // a good request is answered, not 5xx, within this
	Target        float64 `json:"target"`        // the share of primary's requests that must be good
	WindowSeconds float64 `json:"windowSeconds"` // the window of the SLI and burn
	// Primary and Burst are nil until measured; Problem says why not.
	Primary *Judgement `json:"primary,omitempty"`
	Burst   *Judgement `json:"burst,omitempty"`
	Problem string     `json:"problem,omitempty"`
	// LearnedCapacityRPS is the highest rate primary was seen to carry
	// within its objective this leader term; 0 until seen.
	LearnedCapacityRPS float64 `json:"learnedCapacityRps"`
	// BothOver: both clusters are over their objective; burst's share is
	// not raised further.
	BothOver bool `json:"bothOver,omitempty"`
	// Budget is each destination's error budget; nil when not measured,
	// and BudgetProblem says why.
	Budget        *Budgets `json:"budget,omitempty"`
	BudgetProblem string   `json:"budgetProblem,omitempty"`
}

// Burn is a burn rate over a window.
type Burn struct {
	Window string  `json:"window"`
	Rate   float64 `json:"rate"`
}

// ErrorBudget is one destination's error budget.
type ErrorBudget struct {
	Burns []Burn   `json:"burns,omitempty"` // over the short windows, shortest first
	Left  *float64 `json:"left,omitempty"`  // share of the period's budget left: 1 untouched, 0 or less spent
}

// Budgets is each destination's error budget over Period: "3d" from the
// recording rules in the clusters, "since the counters started" in the
// demo (since the demo started).
type Budgets struct {
	Period  string      `json:"period"`
	Primary ErrorBudget `json:"primary"`
	Burst   ErrorBudget `json:"burst"`
}

// Security is how each destination's requests travel, as the mesh reports
// it (Istio's connection_security_policy: mutual_tls, none); "" unknown.
type Security struct {
	Primary string `json:"primary,omitempty"`
	Burst   string `json:"burst,omitempty"`
}

// Status is the body of GET /api/status: what one burster replica knows now.
type Status struct {
	Weights     *split.Split `json:"weights,omitempty"`     // nil until read from the router
	ObservedRPS *float64     `json:"observedRps,omitempty"` // nil when the last measurement failed
	// Destinations is nil when the burster is not configured to tell them
	// apart, or the last measurement of them failed.
	Destinations *Destinations `json:"destinations,omitempty"`
	// PrimaryCapacity is nil unless the burster follows primary's ready
	// workers (CAPACITY_PER_ENDPOINT_RPS), or when they are not known.
	PrimaryCapacity *Capacity `json:"primaryCapacity,omitempty"`
	// Burst is nil unless the burster reads the burst cluster's readiness.
	Burst *Burst `json:"burst,omitempty"`
	// SLO is set when the burster measures the worker's service level:
	// always under STRATEGY=slo.
	SLO *SLO `json:"slo,omitempty"`
	// Security is nil unless the burster measures it (SECURITY_QUERY).
	Security *Security `json:"security,omitempty"`
	// Router is what applies the weights: istio, gatewayapi or localmesh.
	Router string `json:"router,omitempty"`
	// RouterError is the class of the last failed call to what applies the
	// weights ("timed out", "unreachable", "not allowed", ...); empty once a
	// call succeeds. The full error is in the burster's log.
	RouterError string   `json:"routerError,omitempty"`
	Leader      bool     `json:"leader"` // only the leader's view is current
	Strategy    string   `json:"strategy"`
	HighRPS     float64  `json:"highRps"`
	LowRPS      float64  `json:"lowRps"`
	Changes     []Change `json:"changes"` // the most recent, oldest first
}
