// Package bursterapi is the burster's HTTP API: where its status and
// changes are served, and how a client names a policy and tells the
// leader's answer from a standby's. The bodies are the BurstPolicy API's
// own types (package v1alpha1 of the api module), so the page, kubectl and
// the metrics read one shape:
//
//   - GET StatusPath?policy=NAME: the BurstPolicy, as `kubectl get -o json`
//     shows it, with the status as the answering replica knows it: the
//     leader's live, a standby's as the leader last wrote it (with
//     POLICIES=kubernetes; otherwise a standby knows nothing current).
//   - GET ChangesPath?policy=NAME: a BurstPolicyChangeList, the policy's
//     recent decisions of every reason, oldest first.
//
// Without policy, a burster that runs one policy serves it (400 when it
// runs more); an unknown one is 404.
package bursterapi

// Paths of the burster's API.
const (
	StatusPath  = "/api/status"
	ChangesPath = "/api/changes"
)

// PolicyParam is the query parameter that names the policy.
const PolicyParam = "policy"

// LeaderHeader is "true" on the leader's answer and "false" on a
// standby's.
const LeaderHeader = "Burster-Leader"
