// Package pageapi is the contract between the frontend and its page: the
// frames the server sends over the websocket, the commands the page sends
// back, and the JSON of the frontend's HTTP API (/api/status, /api/rate). The
// server classifies every hash and computes every figure; the page renders
// what these types carry and derives nothing itself.
package pageapi

import (
	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
)

// FrameType says what a Frame carries.
type FrameType string

// The frames a page receives.
const (
	Hello  FrameType = "hello"  // once on connect: the slider's range and the status
	Update FrameType = "update" // at most once per frame interval: hashes, counts, status
	Error  FrameType = "error"  // in answer to a command that was not applied
)

// Frame is one websocket message to the page.
type Frame struct {
	Type     FrameType `json:"type"`
	Hashes   []Hash    `json:"hashes,omitempty"`   // the newest of this interval, oldest first
	Counts   Counts    `json:"counts,omitempty"`   // every hash received this interval
	Received Rates     `json:"received,omitempty"` // hashes per second, with each status
	Status   *Status   `json:"status,omitempty"`
	At       int64     `json:"at,omitempty"` // server time of the status, Unix ms: pages chart on the server's clock
	MaxRPS   int       `json:"maxRps,omitempty"`
	Message  string    `json:"message,omitempty"` // Error: what was wrong
}

// Hash is one published message with the cluster that published it.
type Hash struct {
	Text    string          `json:"text"`
	Cluster hashmsg.Cluster `json:"cluster"`
}

// Counts is a number of hashes per cluster, by its name.
type Counts map[hashmsg.Cluster]int

// Rates is hashes received per second per cluster, by its name: every
// cluster the frontend knows (its prefix table) is named, 0 included.
type Rates map[hashmsg.Cluster]float64

// Status is what every page shows besides the hashes, and the body of
// GET /api/status: the load generator's figures and, when the frontend
// follows a burster, the burster's view.
type Status struct {
	Generator
	// Burster is the policy the frontend follows as the burster serves it
	// (GET /api/status): its spec and its live status.
	Burster *v1alpha1.BurstPolicy `json:"burster,omitempty"`
	// BursterProblem, when the frontend follows a burster whose status it
	// could not read last time (Burster is then nil), says why, for the page.
	BursterProblem string `json:"bursterProblem,omitempty"`
	// Latency is what the load generator measured per cluster.
	Latency *Latency `json:"latency,omitempty"`
	// Topology is the path of a request across the clusters, when the
	// frontend follows a burster.
	Topology *Topology `json:"topology,omitempty"`
}

// Topology is frontend → the mesh's split → the worker in each cluster →
// Redis, with what each worker edge carries.
type Topology struct {
	Mesh  string `json:"mesh"`  // what splits: "Istio" or "the local mesh"
	Edges []Edge `json:"edges"` // one per destination of the burster, in spill order
}

// Of is the edge to cluster c; nil when there is none.
func (t *Topology) Of(c hashmsg.Cluster) *Edge {
	for i := range t.Edges {
		if t.Edges[i].Cluster == c {
			return &t.Edges[i]
		}
	}
	return nil
}

// Objective is how an edge stands against the SLO.
type Objective string

// The objective's states.
const (
	ObjectiveMet      Objective = "met"      // within it over the SLO window
	ObjectiveBurning  Objective = "burning"  // spending its budget faster than allowed
	ObjectiveBreached Objective = "breached" // its budget over the period is spent
	ObjectiveUnknown  Objective = "unknown"  // not judged
)

// Edge is the mesh's hop to one cluster's worker. Each figure is nil when
// not measured.
type Edge struct {
	Cluster   hashmsg.Cluster `json:"cluster"`
	RPS       *float64        `json:"rps,omitempty"`       // requests per second the mesh sent there
	ErrorsRPS *float64        `json:"errorsRps,omitempty"` // of which answered 5xx (or not at all)
	P99MS     *float64        `json:"p99Ms,omitempty"`     // the load generator's, over its window
	Weight    *int            `json:"weight,omitempty"`    // percent, as the burster set it
	Share     *float64        `json:"share,omitempty"`     // percent of the requests observed going there
	// Security is how the hop travels, in words: "mutual TLS", "plaintext",
	// "plaintext on loopback (local mesh)", or "not measured".
	Security  string    `json:"security"`
	Objective Objective `json:"objective"`
	// SLI and Burn are over the SLO window; BudgetLeft over the budget's
	// period (Budget.Period in the burster's status).
	SLI        *float64 `json:"sli,omitempty"`
	Burn       *float64 `json:"burn,omitempty"`
	BudgetLeft *float64 `json:"budgetLeft,omitempty"`
}

// Latency is the durations of every request the load generator sent, per
// cluster, over the last WindowSeconds: each includes queueing at the
// cluster and, for burst, the hop between the clusters. An answer 200 is
// counted for the cluster its prefix names; a failed request (an answer
// other than 200, a timeout, a refused connection) for the cluster the
// mesh says failed it, or as Unattributed when nothing says. A failed
// request is beyond the objective: the quantiles count it as taking
// FailedAsMS, the request timeout.
type Latency struct {
	ObjectiveMS   float64          `json:"objectiveMs"`   // the SLO's latency (SLO_LATENCY_MS)
	WindowSeconds int              `json:"windowSeconds"` // the window of the figures: complete seconds, the current one left out
	FailedAsMS    float64          `json:"failedAsMs"`    // what a failed request counts as in the quantiles
	Clusters      []ClusterLatency `json:"clusters"`      // every cluster the frontend knows, in spill order
	Unattributed  ClusterLatency   `json:"unattributed"`  // failed, with no cluster named
}

// Of is cluster c's figures; nil when the frontend does not know c.
func (l *Latency) Of(c hashmsg.Cluster) *ClusterLatency {
	for i := range l.Clusters {
		if l.Clusters[i].Cluster == c {
			return &l.Clusters[i]
		}
	}
	return nil
}

// ClusterLatency is one cluster's figures; nil ones while it had none.
type ClusterLatency struct {
	Cluster         hashmsg.Cluster `json:"cluster,omitempty"`         // "" for the unattributed
	Requests        uint64          `json:"requests"`                  // sent and finished in the window, failed ones included
	Failed          uint64          `json:"failed"`                    // of those, failed
	P50MS           *float64        `json:"p50Ms,omitempty"`           // median, ms (at most 6.25% above the truth)
	P99MS           *float64        `json:"p99Ms,omitempty"`           // 99th percentile, ms
	WithinObjective *float64        `json:"withinObjective,omitempty"` // share answered 200 within ObjectiveMS
}

// Generator is a snapshot of the frontend's load generator.
type Generator struct {
	TargetRPS   int     `json:"targetRps"`   // what was asked for
	SentRPS     float64 `json:"sentRps"`     // requests issued per second, last second
	AchievedRPS float64 `json:"achievedRps"` // requests the worker answered 200, last second
	InFlight    int     `json:"inFlight"`
	Sent        uint64  `json:"sent"`
	Succeeded   uint64  `json:"succeeded"`
	Failed      uint64  `json:"failed"`  // errors and non-200 answers
	Dropped     uint64  `json:"dropped"` // not sent: in-flight bound reached or too far behind
	LastError   string  `json:"lastError,omitempty"`
}

// CommandType names a command.
type CommandType string

// SetRate sets the request rate of the whole deployment.
const SetRate CommandType = "setRate"

// Command is what a page sends over the websocket, such as
// {"type": "setRate", "rps": 25}. PUT /api/rate takes the same object; there
// the type may be left out.
type Command struct {
	Type CommandType `json:"type,omitempty"`
	RPS  *int        `json:"rps,omitempty"`
}

// Rate is the body of GET /api/rate and the answer to PUT /api/rate.
type Rate struct {
	RPS int `json:"rps"`
}
