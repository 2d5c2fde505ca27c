package controller

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
)

// act carries out the policy's decision d: the weights are written unless
// it keeps them or this is a dry run, and the decision is told once.
func (c *Controller) act(ctx context.Context, next policy.State, d policy.Decision, rps *float64) {
	from := c.term.state.Weights
	decision := tell{kind: v1alpha1.ChangeWeightsChanged, from: from, to: d.Weights, rps: rps, slo: d.SLO, reason: d.Reason,
		message: fmt.Sprintf("%v -> %v: %s", from, d.Weights, d.Reason)}
	switch {
	case d.BurstNotReady():
		decision.kind, decision.level = v1alpha1.ChangeBurstNotReady, slog.LevelError
	case d.FailSafe:
		decision.kind, decision.level = v1alpha1.ChangeFailSafe, slog.LevelError
		if !d.Changed {
			decision.message = d.Reason
		}
	}
	if !d.Changed {
		c.term.state = next
		if d.FailSafe {
			c.tell(decision)
		}
		return
	}
	if c.cfg.DryRun {
		c.term.state = next
		decision.kind, decision.level = v1alpha1.ChangeDryRun, slog.LevelInfo
		decision.message = "would change " + decision.message
		c.tell(decision)
		return
	}
	_, err := c.cfg.Router.Set(ctx, d.Weights)
	c.routed(ctx, err)
	if err != nil {
		// Not applied: keep the old weights so the next tick decides again.
		next.Weights, next.LastChange = c.term.state.Weights, c.term.state.LastChange
		c.term.state = next
		c.tell(tell{level: slog.LevelError, kind: v1alpha1.ChangeUpdateFailed, from: from, to: from, rps: rps,
			reason:  fmt.Sprintf("could not change %v -> %v (%s): %s", from, d.Weights, d.Reason, router.Classify(err)),
			message: fmt.Sprintf("could not change %v -> %v (%s): %v", from, d.Weights, d.Reason, err)})
		return
	}
	c.term.state = next
	c.cfg.Metrics.weights(d.Weights)
	c.cfg.Metrics.changes.Inc()
	c.tell(decision)
}
