// Package topology puts together the page's picture of a request's path:
// the worker edge of each cluster with the rate and errors the mesh
// measured there (the burster's destinations, or its SLO window), the
// load generator's p99, the weight the burster set beside the share
// observed, whether the hop is mutual TLS as the mesh reports it, and how
// the edge stands against the objective. Nothing is guessed: a figure not
// measured stays absent.
package topology

import (
	"time"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
)

// loopback is the demo's hop: the local mesh proxies on this machine.
const loopback = "plaintext on loopback (local mesh)"

// Of is the topology from the policy the burster serves and the load
// generator's latency; nil without a policy. Its first destination is the
// page's primary, the second its burst.
func Of(b *v1alpha1.BurstPolicy, l *pageapi.Latency) *pageapi.Topology {
	if b == nil {
		return nil
	}
	local := b.Spec.Route.LocalMesh != nil
	t := &pageapi.Topology{Mesh: "Istio"}
	if local {
		t.Mesh = "the local mesh"
	}
	edges := [2]*pageapi.Edge{&t.Primary, &t.Burst}
	var dests [2]v1alpha1.DestinationStatus
	for i := range dests {
		if i < len(b.Spec.Destinations) {
			if d := b.Status.Destination(b.Spec.Destinations[i].Name); d != nil {
				dests[i] = *d
			}
		}
	}
	var window time.Duration
	if b.Spec.Strategy.SLO != nil {
		window, _ = b.Spec.Strategy.SLO.Window.Duration()
	}
	var rps [2]*float64
	switch {
	case dests[0].RateRPS != nil && dests[1].RateRPS != nil:
		for i, d := range dests {
			rps[i], edges[i].ErrorsRPS = d.RateRPS, d.FailedRPS
		}
	case window > 0 && dests[0].Requests != nil && dests[1].Requests != nil:
		for i, d := range dests {
			r := *d.Requests / window.Seconds()
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
		if w := v1alpha1.Weight(b.Status.Weights, dests[i].Name); w >= 0 && dests[i].Name != "" {
			e.Weight = &w
		}
		if l != nil {
			e.P99MS = [2]*float64{l.Primary.P99MS, l.Burst.P99MS}[i]
		}
		e.Security = security(local, dests[i].Security)
		judge(e, dests[i])
	}
	return t
}

// security says how an edge travels.
func security(local bool, policy string) string {
	if local {
		return loopback
	}
	switch policy {
	case "mutual_tls":
		return "mutual TLS"
	case "none":
		return "plaintext"
	case "":
		return "not measured"
	}
	return "unknown policy"
}

// judge sets an edge's standing against the objective: breached once its
// budget is spent, burning while it spends faster than allowed, met when
// judged within it.
func judge(e *pageapi.Edge, d v1alpha1.DestinationStatus) {
	e.Objective = pageapi.ObjectiveUnknown
	e.SLI, e.Burn = d.SLI, d.Burn
	if d.Budget != nil {
		e.BudgetLeft = d.Budget.Left
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
