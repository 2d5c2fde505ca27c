// Package slo is the project's one definition of the worker's service
// level, used by every side that measures it: the burster's strategy and
// its sources, the Prometheus rules deploy/cmd/slorules generates, and the
// frontend's page. A request is good when it was answered, did not fail,
// and took at most the objective's latency; it failed when it was answered
// 5xx or not at all. The SLI is the share of good requests, and the burn
// rate how fast the error budget (the share 1 − target may be bad) is
// spent: 1 spends it exactly as fast as the objective allows.
package slo

import "strconv"

// FailedCodes is, as a PromQL regular expression (matched whole), the
// response codes of a failed request: a 5xx, or no answer: Istio reports
// 0 when the connection failed or the client gave up, the local mesh 499
// when the client gave up while queued.
const FailedCodes = `5[0-9][0-9]|0|499`

// Failed reports whether a response code, as metrics label it, is a failed
// request.
func Failed(code string) bool {
	if code == "0" {
		return true
	}
	n, err := strconv.Atoi(code)
	return err == nil && len(code) == 3 && FailedStatus(n)
}

// FailedStatus reports whether an HTTP status (0: no answer) is a failed
// request.
func FailedStatus(code int) bool { return code == 0 || code == 499 || (code >= 500 && code <= 599) }

// SLI is the share of good requests among requests (which must be
// positive), within [0, 1].
func SLI(good, requests float64) float64 { return min(1, max(0, good/requests)) }

// Burn is the rate at which an SLI spends the error budget of target.
func Burn(sli, target float64) float64 { return (1 - sli) / (1 - target) }
