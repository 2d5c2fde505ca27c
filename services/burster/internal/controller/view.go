package controller

import (
	"time"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// What the loop measured and decided, as Snapshot and Changes tell it;
// the status (package runner) carries it as a BurstPolicy's status.

// Destination is the traffic one destination was sent over the burster's
// measuring window, as the mesh reports it.
type Destination struct {
	RPS       float64 // requests per second sent there
	FailedRPS float64 // of which failed: a 5xx, or no answer
	// Failing: it was sent requests and at least half of them failed. A
	// burst destination answering only errors shows here, while its
	// requests still count as load.
	Failing bool
}

// HomeCapacity is primary's live capacity: its ready workers × what one serves.
type HomeCapacity struct {
	RPS            float64
	ReadyEndpoints int
}

// Burst is the burst cluster's readiness, as the burster reads it through
// BURST_KUBECONFIG.
type Burst struct {
	ReadyEndpoints int
	Reachable      bool // its API answered; if not, it counts as not ready
	// Blocked: weights are kept off burst because it has no ready worker.
	Blocked bool
	// PrescaledTo is the burst HPA's minReplicas as the burster raised it
	// ahead of a burst; 0 when not raised (or pre-scaling is off).
	PrescaledTo int32
}

// Destinations is each destination's traffic.
type Destinations struct {
	Primary Destination
	Burst   Destination
}

// Change is one decision of the burster.
type Change struct {
	At     time.Time
	From   split.Split
	To     split.Split
	RPS    *float64 // nil when no rate was measured
	Reason string
	Kind   v1alpha1.ChangeReason
	// SLI and Burn are primary's, as the slo strategy judged them for this
	// decision; nil under other strategies or when primary was not judged.
	SLI  *float64
	Burn *float64
}

// Judgement is one destination's service level over the SLO window.
type Judgement struct {
	Requests float64  // in the window
	SLI      *float64 // good / requests; nil: too few requests to judge
	Burn     *float64 // (1 - SLI) / (1 - target); above 1 spends the budget too fast
}

// SLO is the slo strategy's objective and its last reading.
type SLO struct {
	LatencyMS     float64 // a good request is answered, not 5xx, within this
	Target        float64 // the share of primary's requests that must be good
	WindowSeconds float64 // the window of the SLI and burn
	// Primary and Burst are nil until measured; Problem says why not.
	Primary *Judgement
	Burst   *Judgement
	Further []*Judgement // the destinations after burst, in spill order
	Problem string
	// LearnedCapacityRPS is the highest rate primary was seen to carry
	// within its objective this leader term; 0 until seen.
	LearnedCapacityRPS float64
	// BothOver: every cluster is over its objective; no more of the share
	// leaves primary.
	BothOver bool
	// Budget is each destination's error budget; nil when not measured,
	// and BudgetProblem says why.
	Budget        *Budgets
	BudgetProblem string
}

// Burn is a burn rate over a window.
type Burn struct {
	Window string
	Rate   float64
}

// ErrorBudget is one destination's error budget.
type ErrorBudget struct {
	Burns []Burn   // over the short windows, shortest first
	Left  *float64 // share of the period's budget left: 1 untouched, 0 or less spent
}

// Budgets is each destination's error budget over Period: "3d" from the
// recording rules in the clusters, "since the counters started" in the
// demo (since the demo started).
type Budgets struct {
	Period  string
	Primary ErrorBudget
	Burst   ErrorBudget
}

// Security is how each destination's requests travel, as the mesh reports
// it (Istio's connection_security_policy: mutual_tls, none); "" unknown.
type Security struct {
	Primary string
	Burst   string
}
