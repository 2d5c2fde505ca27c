package controller

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/prescale"
)

// Scaler raises and restores a destination's HPA's minReplicas (package
// prescale).
type Scaler interface {
	Name() string
	Read(ctx context.Context) (prescale.State, error)
	Raise(ctx context.Context, want int32) (before, after prescale.State, err error)
	Restore(ctx context.Context) (before, after prescale.State, err error)
}

// Prescale configures pre-scaling of a destination after home: once the
// rate reaches WarmRPS, its HPA's minReplicas is raised to the workers the
// burst would need (the rate, at least HighRPS, ÷ PerEndpointRPS), and the
// first shift onto it waits until that many are ready, at most Wait. Once
// it has carried nothing, the rate below WarmRPS, for Cooldown, the
// recorded minReplicas is put back.
type Prescale struct {
	Scaler           Scaler
	WarmRPS, HighRPS float64
	PerEndpointRPS   float64
	Cooldown, Wait   time.Duration
}

// prescaleState is what the loop knows of one destination's pre-scaling.
type prescaleState struct {
	loaded    bool      // the HPA was read once (a raise by an earlier leader is known)
	raised    int32     // minReplicas this burster set; 0: not raised
	raisedAt  time.Time // the shift waits from here, at most Wait
	coolSince time.Time // nothing carried and below WarmRPS since
}

// prescaled is destination i's pre-scaling (1: burst, 2 on: Further[i-2]);
// nil when it has none.
func (c *Controller) prescaled(i int) *Prescale {
	if i == 1 {
		return c.cfg.Prescale
	}
	if i-2 < len(c.cfg.Further) {
		return c.cfg.Further[i-2].Prescale
	}
	return nil
}

// preState is what this term knows of destination i's pre-scaling.
func (c *Controller) preState(i int) *prescaleState {
	if len(c.term.pre) <= i {
		c.term.pre = append(c.term.pre, make([]prescaleState, i+1-len(c.term.pre))...)
	}
	return &c.term.pre[i]
}

// raisedTo is destination i's minReplicas as this term raised it; 0: not.
func (c *Controller) raisedTo(i int) int32 {
	if i < len(c.term.pre) {
		return c.term.pre[i].raised
	}
	return 0
}

// prescale raises or restores destination i's HPA for a measured rate, and
// says why the first shift onto it must wait ("" when it need not). ready
// is its ready workers as read this turn (nil: not read).
func (c *Controller) prescale(ctx context.Context, i int, rps float64, ready *Burst) string {
	p := c.prescaled(i)
	if p == nil || c.cfg.DryRun {
		return ""
	}
	now, st, name := c.now(), c.preState(i), c.term.state.Weights.Name(i)
	if !st.loaded {
		hpa, err := p.Scaler.Read(ctx)
		if err != nil {
			c.cfg.Log.Warn("reading a destination's HorizontalPodAutoscaler", "destination", name, "err", err)
			return ""
		}
		st.loaded = true
		if hpa.Original != nil { // raised before this term: restore it in time
			st.raised, st.raisedAt = hpa.MinReplicas, now
			c.cfg.Metrics.prescale(i, name, hpa.MinReplicas)
		}
	}
	if rps < p.WarmRPS {
		c.coolDown(ctx, i, p, st, now)
		return ""
	}
	st.coolSince = time.Time{}
	want := int32(math.Ceil(max(rps, p.HighRPS) / p.PerEndpointRPS))
	if want > st.raised {
		before, after, err := p.Scaler.Raise(ctx, want)
		switch {
		case err != nil:
			c.cfg.Log.Error("raising a destination's HorizontalPodAutoscaler", "destination", name, "want", want, "err", err)
		case after.MinReplicas > before.MinReplicas:
			st.raised, st.raisedAt = after.MinReplicas, now
			c.cfg.Metrics.prescale(i, name, after.MinReplicas)
			c.note(slog.LevelInfo, v1alpha1.ChangePreScaled, fmt.Sprintf(
				"raised the %s HorizontalPodAutoscaler %s's minReplicas from %d to %d for %.1f req/s (%g per worker; at most %d)",
				name, p.Scaler.Name(), before.MinReplicas, after.MinReplicas, rps, p.PerEndpointRPS, after.MaxReplicas))
		default:
			st.raised = max(st.raised, after.MinReplicas) // as high already, or at maxReplicas
		}
	}
	if st.raised == 0 || ready == nil || ready.ReadyEndpoints >= int(st.raised) || now.Sub(st.raisedAt) >= p.Wait {
		return ""
	}
	who := name
	if name == split.Burst {
		who = "the burst cluster"
	}
	return fmt.Sprintf("%s is scaling up (%d of %d workers ready)", who, ready.ReadyEndpoints, st.raised)
}

// coolDown puts destination i's recorded minReplicas back once it has
// carried nothing, below the warm rate, for the cool-down.
func (c *Controller) coolDown(ctx context.Context, i int, p *Prescale, st *prescaleState, now time.Time) {
	if st.raised == 0 || c.term.state.Weights.Weight(i) > 0 {
		st.coolSince = time.Time{}
		return
	}
	if st.coolSince.IsZero() {
		st.coolSince = now
	}
	if now.Sub(st.coolSince) < p.Cooldown {
		return
	}
	name := c.term.state.Weights.Name(i)
	before, after, err := p.Scaler.Restore(ctx)
	if err != nil {
		c.cfg.Log.Error("restoring a destination's HorizontalPodAutoscaler", "destination", name, "err", err)
		return
	}
	st.raised, st.coolSince = 0, time.Time{}
	c.cfg.Metrics.prescale(i, name, 0)
	if before.Original != nil {
		c.note(slog.LevelInfo, v1alpha1.ChangeScaledBack, fmt.Sprintf(
			"restored the %s HorizontalPodAutoscaler %s's minReplicas from %d to %d after %s without a share",
			name, p.Scaler.Name(), before.MinReplicas, after.MinReplicas, p.Cooldown))
	}
}
