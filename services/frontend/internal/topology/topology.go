// Package topology puts together the page's picture of a request's path:
// the worker edge of each cluster with the rate and errors the mesh
// measured there (the burster's destinations, or its SLO window), the
// load generator's p99, the weight the burster set beside the share
// observed, whether the hop is mutual TLS as the mesh reports it, and how
// the edge stands against the objective. Nothing is guessed: a figure not
// measured stays absent.
package topology

import (
	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
)

// loopback is the demo's hop: the local mesh proxies on this machine.
const loopback = "plaintext on loopback (local mesh)"

// Of is the topology from the burster's status and the load generator's
// latency; nil without a burster's status.
func Of(b *bursterapi.Status, l *pageapi.Latency) *pageapi.Topology {
	if b == nil {
		return nil
	}
	t := &pageapi.Topology{Mesh: "Istio"}
	if b.Router == "localmesh" {
		t.Mesh = "the local mesh"
	}
	edges := [2]*pageapi.Edge{&t.Primary, &t.Burst}
	var rps [2]*float64
	switch {
	case b.Destinations != nil:
		for i, d := range [2]bursterapi.Destination{b.Destinations.Primary, b.Destinations.Burst} {
			r, f := d.RPS, d.FailedRPS
			rps[i], edges[i].ErrorsRPS = &r, &f
		}
	case b.SLO != nil && b.SLO.WindowSeconds > 0 && b.SLO.Primary != nil && b.SLO.Burst != nil:
		for i, j := range [2]*bursterapi.Judgement{b.SLO.Primary, b.SLO.Burst} {
			r := j.Requests / b.SLO.WindowSeconds
			rps[i] = &r
		}
	}
	total := 0.0
	for i, e := range edges {
		e.RPS = rps[i]
		if rps[i] != nil {
			total += *rps[i]
		}
	}
	for i, e := range edges {
		if total > 0 && rps[i] != nil {
			share := 100 * *rps[i] / total
			e.Share = &share
		}
		if b.Weights != nil {
			w := [2]int{b.Weights.Primary, b.Weights.Burst}[i]
			e.Weight = &w
		}
		if l != nil {
			e.P99MS = [2]*float64{l.Primary.P99MS, l.Burst.P99MS}[i]
		}
		e.Security = security(b, i)
		judge(e, b.SLO, i)
	}
	return t
}

// security says how edge i travels.
func security(b *bursterapi.Status, i int) string {
	if b.Router == "localmesh" {
		return loopback
	}
	if b.Security == nil {
		return "not measured"
	}
	switch [2]string{b.Security.Primary, b.Security.Burst}[i] {
	case "mutual_tls":
		return "mutual TLS"
	case "none":
		return "plaintext"
	case "":
		return "not measured"
	}
	return "unknown policy"
}

// judge sets edge i's standing against the objective: breached once its
// budget is spent, burning while it spends faster than allowed, met when
// judged within it.
func judge(e *pageapi.Edge, s *bursterapi.SLO, i int) {
	e.Objective = pageapi.ObjectiveUnknown
	if s == nil {
		return
	}
	if j := [2]*bursterapi.Judgement{s.Primary, s.Burst}[i]; j != nil {
		e.SLI, e.Burn = j.SLI, j.Burn
	}
	if s.Budget != nil {
		e.BudgetLeft = [2]bursterapi.ErrorBudget{s.Budget.Primary, s.Budget.Burst}[i].Left
	}
	switch {
	case e.BudgetLeft != nil && *e.BudgetLeft <= 0:
		e.Objective = pageapi.ObjectiveBreached
	case e.Burn != nil && *e.Burn > 1:
		e.Objective = pageapi.ObjectiveBurning
	case e.Burn != nil:
		e.Objective = pageapi.ObjectiveMet
	}
}
