package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
)

// tell is one thing the controller tells people: a decision, a correction,
// a failed write, or a finding that leaves the weights (a destination's
// health, burst's readiness, pre-scaling). Every one goes the same way
// (Controller.tell): a log line, a Kubernetes event on the routing object,
// and an entry in the history that /api/changes and the page show.
type tell struct {
	level    slog.Level // Warn and above: a Warning event
	kind     v1alpha1.ChangeReason
	from, to split.Split
	rps      *float64           // the rate it was decided at; nil when none
	slo      *policy.SLOReading // what the slo strategy judged; nil when none
	// reason is why, in words without addresses: the history's and the
	// page's. message, when set, is the log's and the event's, which may
	// say more (the weights, the full error).
	reason, message string
}

// tell logs t, records its event and keeps it in the history.
func (c *Controller) tell(t tell) {
	msg, eventtype := t.message, corev1.EventTypeNormal
	if msg == "" {
		msg = t.reason
	}
	if t.level >= slog.LevelWarn {
		eventtype = corev1.EventTypeWarning
	}
	c.cfg.Log.Log(context.Background(), t.level, msg, "kind", t.kind, "from", t.from.String(), "to", t.to.String(), "rps", t.rps)
	c.cfg.Events.Event(eventtype, string(t.kind), msg)
	change := Change{At: c.now(), From: t.from, To: t.to, RPS: t.rps, Reason: t.reason, Kind: t.kind}
	if t.slo != nil {
		change.SLI, change.Burn = t.slo.Primary.SLI, t.slo.Primary.Burn
	}
	c.history.add(change)
}

// note tells of a finding that leaves the weights where they are.
func (c *Controller) note(level slog.Level, kind v1alpha1.ChangeReason, reason string) {
	w := c.term.state.Weights
	c.tell(tell{level: level, kind: kind, from: w, to: w, reason: reason})
}

// burstGate reports, once each, that a destination is kept off for want
// of a ready worker (a decision that moved the weights back is reported
// with them) and that every one kept off is ready again.
func (c *Controller) burstGate(d policy.Decision, burst *Burst, further []*Burst) {
	switch {
	case d.BurstNotReady() && len(c.term.blocked) == 0:
		c.term.blocked = d.Blocked
		c.cfg.Metrics.burstBlocked.Set(1)
		if !d.Changed {
			c.note(slog.LevelWarn, v1alpha1.ChangeBurstNotReady, d.Reason)
		}
	case d.BurstNotReady():
		// Still kept off: maybe others than before.
		c.term.blocked = d.Blocked
	case len(c.term.blocked) > 0:
		ready := c.readyAgain(burst, further)
		if len(ready) == 0 {
			return
		}
		c.term.blocked = nil
		c.cfg.Metrics.burstBlocked.Set(0)
		c.note(slog.LevelInfo, v1alpha1.ChangeBurstReady, strings.Join(ready, "; "))
	}
}

// readyAgain says, for each destination last kept off, that it has ready
// workers again; nil while one of them still has none.
func (c *Controller) readyAgain(burst *Burst, further []*Burst) []string {
	var out []string
	for _, name := range c.term.blocked {
		r := burst
		if name != split.Burst {
			r = nil
			for i, f := range c.cfg.Further {
				if f.Name == name && i < len(further) {
					r = further[i]
				}
			}
		}
		if r == nil || r.ReadyEndpoints == 0 {
			return nil
		}
		who := name + " has"
		if name == split.Burst {
			who = "the burst cluster has"
		}
		out = append(out, fmt.Sprintf("%s ready workers again (%d)", who, r.ReadyEndpoints))
	}
	return out
}

// Snapshot returns the current weights and the last measurements.
func (c *Controller) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	slo := c.slo
	if slo != nil && (c.budget.budget != nil || c.budget.problem != nil) {
		// The budget is the report's, read beside the loop: the latest.
		o := *slo
		o.Budget = c.budget.budget
		if c.budget.problem != nil {
			o.BudgetProblem = c.budget.problem.Error()
		}
		slo = &o
	}
	return Snapshot{Weights: c.weights, ObservedRPS: c.observed, Destinations: c.destinations, Capacity: c.capacity, Burst: c.burst, Further: c.further,
		SLO: slo, Security: c.security, RouterError: c.routerErr, RateError: c.rateErr, LastChange: c.lastChange, LearnedCapacityRPS: c.learned}
}

// routed records how a call to the router ended, for the status: a read
// that finds the routes disagreeing succeeded. A call cut short by the end
// of the term says nothing about the router.
func (c *Controller) routed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	if errors.Is(err, router.ErrInconsistent) {
		err = nil
	}
	c.mu.Lock()
	c.routerErr = router.Classify(err)
	c.mu.Unlock()
}

// publish makes the loop's view visible to Snapshot.
func (c *Controller) publish(rps *float64, capacity *HomeCapacity, burst *Burst, further []*Burst, slo *SLO) {
	w := c.term.state.Weights
	if slo == nil && c.cfg.SLO != nil {
		o := *c.cfg.SLO // not measured yet: the objective alone
		slo = &o
	}
	c.mu.Lock()
	c.weights, c.observed, c.capacity, c.burst, c.further, c.slo = &w, rps, capacity, burst, further, slo
	c.lastChange, c.learned = c.term.state.LastChange, learned(c.term.state)
	c.mu.Unlock()
}

// LatencyNotYet is the SLO's problem before the first reading: no failure.
const LatencyNotYet = "no latency measured yet"

// sloStatus is the objective with the policy's reading, or with why there
// is none; nil without an objective. Snapshot adds the error budget.
func (c *Controller) sloStatus(r *policy.SLOReading, problem error) *SLO {
	if c.cfg.SLO == nil {
		return nil
	}
	out := *c.cfg.SLO
	c.cfg.Metrics.slo(r, learned(c.term.state))
	switch {
	case problem != nil:
		out.Problem = problem.Error()
	case r == nil:
		out.Problem = LatencyNotYet
	default:
		j := func(j policy.Judgement) *Judgement {
			return &Judgement{Requests: j.Requests, SLI: j.SLI, Burn: j.Burn}
		}
		out.Primary, out.Burst, out.LearnedCapacityRPS, out.BothOver = j(r.Primary), j(r.Burst), r.CapacityRPS, r.BothOver
		for _, f := range r.Further {
			out.Further = append(out.Further, j(f))
		}
	}
	return &out
}

// Changes returns the recent weight changes, oldest first.
func (c *Controller) Changes() []Change { return c.history.list() }
