// Package meshapi is the admin API of the local demo's stand-in mesh, which
// the burster's localmesh router drives: GET WeightsPath answers the current
// split.Split as JSON, PUT WeightsPath with a split.Split sets it and answers
// the split now in force. A split that is not whole percentages summing to
// 100, or does not name the mesh's destinations in order, is refused with
// 400. GET EndpointsPath answers Endpoints: how many
// ready endpoints each destination has, as the mesh's probes of the
// backends' /readyz find them (what EndpointSlices say in a cluster). GET
// CapacityPath answers Capacity, the rate primary serves; PUT CapacityPath
// with a Capacity changes it while the mesh serves (a negative or absurd
// rate is refused with 400), as a cluster that lost or gained nodes.
package meshapi

// Paths of the admin API.
const (
	WeightsPath   = "/weights"
	EndpointsPath = "/endpoints"
	CapacityPath  = "/capacity"
)

// Capacity is the body of GET and PUT CapacityPath.
type Capacity struct {
	PrimaryRPS float64 `json:"primaryRps"` // requests a second primary serves, the rest queued; 0: unlimited
}

// DestinationHeader is set by the local mesh on every answer it gives the
// frontend, the worker's and its own refusals alike: the destination
// (primary, burst, ...) the request was routed to, so that a failed request,
// which carries no hash to tell its cluster by, is counted for the cluster
// that failed it.
const DestinationHeader = "X-Mesh-Destination"

// Endpoints is the body of GET EndpointsPath: each destination's ready
// endpoints by its name, {"primary": 1, "burst": 0} with two.
type Endpoints map[string]int

// LatencyBuckets are the upper bounds, in milliseconds, of the local mesh's
// request-duration histogram: Istio's for istio_request_duration_milliseconds
// (unless the sidecar.istio.io/statsHistogramBuckets annotation changes
// them), so the burster reads the demo as it reads Istio.
var LatencyBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
	60000, 300000, 600000, 1800000, 3600000}
