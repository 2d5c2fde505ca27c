package controller

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

// The measurements that only feed the status (each destination's traffic,
// its error budget, how its requests travel) run beside the loop, after the
// tick has written the weights: a slow or hung query there never delays a
// write. One report runs at a time; a tick that finds the last one still
// running starts none, so the reports never pile up behind a dependency
// that hangs.

// startReport measures for the status in the background, unless the last
// report still runs. w is the weights the findings are told against.
func (c *Controller) startReport(ctx context.Context, w split.Split) {
	if c.cfg.Destinations == nil && c.cfg.Budget == nil && c.cfg.Security == nil {
		return
	}
	if !c.reporting.CompareAndSwap(false, true) {
		c.cfg.Metrics.reportsSkipped.Inc()
		return
	}
	c.reports.Add(1)
	go func() {
		defer c.reports.Done()
		defer c.reporting.Store(false)
		c.report(ctx, w)
	}()
}

// report takes the status's measurements and publishes them.
func (c *Controller) report(ctx context.Context, w split.Split) {
	budget := c.measureBudget(ctx)
	dests := c.measureDestinations(ctx, w)
	security := c.measureSecurity(ctx)
	if ctx.Err() != nil {
		return // the term ended: nothing measured now is the next term's
	}
	c.mu.Lock()
	c.budget, c.destinations, c.security = budget, dests, security
	c.mu.Unlock()
}

// waitReports waits for the report in flight, if any.
func (c *Controller) waitReports() { c.reports.Wait() }

// failingShare is the share of a destination's requests that must fail for
// it to be reported failing.
const failingShare = 0.5

// measureDestinations measures each destination's traffic, when configured, and
// reports a destination that starts or stops failing (told against the
// weights w). Nil: not measured.
func (c *Controller) measureDestinations(ctx context.Context, w split.Split) *Destinations {
	if c.cfg.Destinations == nil {
		return nil
	}
	d, err := c.cfg.Destinations.Destinations(ctx)
	c.cfg.Metrics.destinations(d, err)
	if err != nil {
		if ctx.Err() == nil {
			c.cfg.Log.Warn("no destination traffic measured", "err", err)
		}
		return nil
	}
	out := &Destinations{Primary: health(d.Primary), Burst: health(d.Burst)}
	for i, h := range []struct {
		name string
		d    Destination
	}{{source.Primary, out.Primary}, {source.Burst, out.Burst}} {
		if h.d.Failing == c.failing[i] {
			continue
		}
		c.failing[i] = h.d.Failing
		traffic := fmt.Sprintf("%.1f of %.1f req/s failed", h.d.FailedRPS, h.d.RPS)
		if h.d.Failing {
			c.tell(tell{level: slog.LevelWarn, kind: v1alpha1.ChangeDestinationFailing, from: w, to: w,
				reason: fmt.Sprintf("%s is failing: %s (5xx or no answer); its requests still count as load", h.name, traffic)})
		} else {
			c.tell(tell{level: slog.LevelInfo, kind: v1alpha1.ChangeDestinationRecovered, from: w, to: w,
				reason: fmt.Sprintf("%s recovered: %s", h.name, traffic)})
		}
	}
	return out
}

// health judges one destination's traffic.
func health(t source.Traffic) Destination {
	return Destination{
		RPS: t.RPS, FailedRPS: t.FailedRPS,
		Failing: t.RPS > 0 && t.FailedRPS >= failingShare*t.RPS,
	}
}

// measureSecurity reads how each destination's requests travel, when
// configured, for the status. Nil: not measured, or the reading failed.
func (c *Controller) measureSecurity(ctx context.Context) *Security {
	if c.cfg.Security == nil {
		return nil
	}
	s, err := c.cfg.Security.Security(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.cfg.Log.Debug("the connections' security not measured", "err", err)
		}
		return nil
	}
	return &Security{Primary: s.Primary, Burst: s.Burst}
}

// budgetReading is an error budget read, or the class of why it was not.
type budgetReading struct {
	budget  *Budgets
	problem error
}

// measureBudget reads each destination's error budget, when configured.
func (c *Controller) measureBudget(ctx context.Context) budgetReading {
	if c.cfg.Budget == nil {
		return budgetReading{}
	}
	b, err := c.cfg.Budget.Budget(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.cfg.Log.Debug("no error budget measured", "err", err)
		}
		return budgetReading{problem: source.Classify(err)}
	}
	of := func(o source.BudgetOf) ErrorBudget {
		out := ErrorBudget{Left: o.Left}
		for _, burn := range o.Burns {
			out.Burns = append(out.Burns, Burn{Window: burn.Window, Rate: burn.Rate})
		}
		return out
	}
	return budgetReading{budget: &Budgets{Period: b.Period, Primary: of(b.Primary), Burst: of(b.Burst)}}
}
