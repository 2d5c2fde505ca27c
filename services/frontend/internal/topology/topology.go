// Package topology puts together the page's picture of a request's path:
// the worker edge of each cluster with the rate and errors the mesh
// measured there (the burster's destinations, or its SLO window), the
// load generator's p99, the weight the burster set beside the share
// observed, whether the hop is mutual TLS as the mesh reports it, and how
// the edge stands against the objective. Nothing is guessed: a figure not
// measured stays absent.
package topology

import (
	"slices"
	"time"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
)

// loopback is the demo's hop: the local mesh proxies on this machine.
const loopback = "plaintext on loopback (local mesh)"

// Of is the topology from the policy the burster serves and the load
// generator's latency; nil without a policy. It has an edge per
// destination of the policy, in spill order: the first is the page's
// primary.
func Of(b *v1alpha1.BurstPolicy, l *pageapi.Latency) *pageapi.Topology {
	if b == nil {
		return nil
	}
	local := b.Spec.Route.LocalMesh != nil
	t := &pageapi.Topology{Mesh: "Istio", Edges: make([]pageapi.Edge, len(b.Spec.Destinations))}
	if local {
		t.Mesh = "the local mesh"
	}
	dests := make([]v1alpha1.DestinationStatus, len(b.Spec.Destinations))
	for i, d := range b.Spec.Destinations {
		if s := b.Status.Destination(d.Name); s != nil {
			dests[i] = *s
		}
	}
	var window time.Duration
	if b.Spec.Strategy.SLO != nil {
		window, _ = b.Spec.Strategy.SLO.Window.Duration()
	}
	// The rates, when every destination's is measured: the share of one
	// means nothing without the others'.
	rps := make([]*float64, len(dests))
	switch {
	case all(dests, func(d v1alpha1.DestinationStatus) bool { return d.RateRPS != nil }):
		for i, d := range dests {
			rps[i], t.Edges[i].ErrorsRPS = d.RateRPS, d.FailedRPS
		}
	case window > 0 && all(dests, func(d v1alpha1.DestinationStatus) bool { return d.Requests != nil }):
		for i, d := range dests {
			r := *d.Requests / window.Seconds()
			rps[i] = &r
		}
	}
	total := 0.0
	for _, r := range rps {
		if r != nil {
			total += *r
		}
	}
	for i := range t.Edges {
		e, name := &t.Edges[i], b.Spec.Destinations[i].Name
		e.Cluster, e.RPS = hashmsg.Cluster(name), rps[i]
		if total > 0 && rps[i] != nil {
			share := 100 * *rps[i] / total
			e.Share = &share
		}
		if w := v1alpha1.Weight(b.Status.Weights, name); w >= 0 {
			e.Weight = &w
		}
		if l != nil {
			if c := l.Of(e.Cluster); c != nil {
				e.P99MS = c.P99MS
			}
		}
		e.Security = security(local, dests[i].Security)
		judge(e, dests[i])
	}
	return t
}

// all reports whether every destination's status has what ok asks, and
// there is at least one.
func all(ds []v1alpha1.DestinationStatus, ok func(v1alpha1.DestinationStatus) bool) bool {
	return len(ds) > 0 && !slices.ContainsFunc(ds, func(d v1alpha1.DestinationStatus) bool { return !ok(d) })
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
