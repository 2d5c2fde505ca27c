package controller

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/prescale"
)

// Scaler raises and restores the burst HPA's minReplicas (package prescale).
type Scaler interface {
	Name() string
	Read(ctx context.Context) (prescale.State, error)
	Raise(ctx context.Context, want int32) (before, after prescale.State, err error)
	Restore(ctx context.Context) (before, after prescale.State, err error)
}

// Prescale configures pre-scaling of the burst cluster: once the rate
// reaches WarmRPS, the burst HPA's minReplicas is raised to the workers the
// burst would need (the rate, at least HighRPS, ÷ PerEndpointRPS), and the
// first shift waits until that many are ready, at most Wait. Once the
// weights are all primary and the rate below WarmRPS for Cooldown, the
// recorded minReplicas is put back.
type Prescale struct {
	Scaler           Scaler
	WarmRPS, HighRPS float64
	PerEndpointRPS   float64
	Cooldown, Wait   time.Duration
}

// prescaleState is what the loop knows of its pre-scaling.
type prescaleState struct {
	loaded    bool      // the HPA was read once (a raise by an earlier leader is known)
	raised    int32     // minReplicas this burster set; 0: not raised
	raisedAt  time.Time // the shift waits from here, at most Wait
	coolSince time.Time // all primary and below WarmRPS since
}

// prescale raises or restores the burst HPA for a measured rate, and says
// why the first shift must wait ("" when it need not).
func (c *Controller) prescale(ctx context.Context, rps float64, burst *Burst) string {
	p := c.cfg.Prescale
	if p == nil || c.cfg.DryRun {
		return ""
	}
	now := c.now()
	if !c.term.pre.loaded {
		st, err := p.Scaler.Read(ctx)
		if err != nil {
			c.cfg.Log.Warn("reading the burst HorizontalPodAutoscaler", "err", err)
			return ""
		}
		c.term.pre.loaded = true
		if st.Original != nil { // raised before this term: restore it in time
			c.term.pre.raised, c.term.pre.raisedAt = st.MinReplicas, now
			c.cfg.Metrics.prescaled.Set(float64(st.MinReplicas))
		}
	}
	if rps < p.WarmRPS {
		c.coolDown(ctx, now)
		return ""
	}
	c.term.pre.coolSince = time.Time{}
	want := int32(math.Ceil(max(rps, p.HighRPS) / p.PerEndpointRPS))
	if want > c.term.pre.raised {
		before, after, err := p.Scaler.Raise(ctx, want)
		switch {
		case err != nil:
			c.cfg.Log.Error("raising the burst HorizontalPodAutoscaler", "want", want, "err", err)
		case after.MinReplicas > before.MinReplicas:
			c.term.pre.raised, c.term.pre.raisedAt = after.MinReplicas, now
			c.cfg.Metrics.prescaled.Set(float64(after.MinReplicas))
			c.note(slog.LevelInfo, v1alpha1.ChangePreScaled, fmt.Sprintf(
				"raised the burst HorizontalPodAutoscaler %s's minReplicas from %d to %d for %.1f req/s (%g per worker; at most %d)",
				p.Scaler.Name(), before.MinReplicas, after.MinReplicas, rps, p.PerEndpointRPS, after.MaxReplicas))
		default:
			c.term.pre.raised = max(c.term.pre.raised, after.MinReplicas) // as high already, or at maxReplicas
		}
	}
	if c.term.pre.raised == 0 || burst == nil || burst.ReadyEndpoints >= int(c.term.pre.raised) || now.Sub(c.term.pre.raisedAt) >= p.Wait {
		return ""
	}
	return fmt.Sprintf("the burst cluster is scaling up (%d of %d workers ready)", burst.ReadyEndpoints, c.term.pre.raised)
}

// coolDown puts the recorded minReplicas back once the weights have been
// all primary, below the warm rate, for the cool-down.
func (c *Controller) coolDown(ctx context.Context, now time.Time) {
	p := c.cfg.Prescale
	if c.term.pre.raised == 0 || c.term.state.Weights.Spilled() > 0 {
		c.term.pre.coolSince = time.Time{}
		return
	}
	if c.term.pre.coolSince.IsZero() {
		c.term.pre.coolSince = now
	}
	if now.Sub(c.term.pre.coolSince) < p.Cooldown {
		return
	}
	before, after, err := p.Scaler.Restore(ctx)
	if err != nil {
		c.cfg.Log.Error("restoring the burst HorizontalPodAutoscaler", "err", err)
		return
	}
	c.term.pre.raised, c.term.pre.coolSince = 0, time.Time{}
	c.cfg.Metrics.prescaled.Set(0)
	if before.Original != nil {
		c.note(slog.LevelInfo, v1alpha1.ChangeScaledBack, fmt.Sprintf(
			"restored the burst HorizontalPodAutoscaler %s's minReplicas from %d to %d after %s on primary",
			p.Scaler.Name(), before.MinReplicas, after.MinReplicas, p.Cooldown))
	}
}
