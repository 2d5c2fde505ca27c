package controller

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

// observe gathers what the policy decides from: the rate (or its error's
// class: the decision's reason reaches events, the status and the page; the
// detail is in the log), primary's capacity and the burst cluster's
// readiness when configured, whether burst is still scaling up, and each
// destination's latency window (the class of its error, if it failed).
func (c *Controller) observe(ctx context.Context, rps float64, err error) (policy.Observation, *bursterapi.Capacity, *bursterapi.Burst, error) {
	obs := policy.Observation{At: c.now(), RPS: rps, Err: source.Classify(err)}
	var latencyErr error
	if c.cfg.Latency != nil && err == nil {
		slis, lerr := c.cfg.Latency.Windows(ctx)
		latencyErr = source.Classify(lerr)
		if latencyErr != c.term.latencyErr && ctx.Err() == nil {
			// Logged when it starts failing, or fails otherwise, and
			// when it recovers: not once a measurement.
			if lerr != nil {
				c.cfg.Log.Warn("no latency measured", "err", lerr)
			} else {
				c.cfg.Log.Info("latency measured again")
			}
			c.term.latencyErr = latencyErr
		}
		switch {
		case lerr == nil:
			obs.SLO = &slis
		case c.cfg.Policy.DecidesFromSLO() && latencyErr != source.ErrNoData:
			// A failed query, or a histogram that cannot count the
			// objective: a failed measurement, towards the fail-safe.
			// No data yet (a window still filling): the policy holds
			// and says so.
			obs.Err = latencyErr
		}
	}
	capacity := c.measureCapacity()
	switch {
	case capacity != nil:
		obs.CapacityRPS = &capacity.RPS
	case c.cfg.Capacity != nil && obs.Err == nil:
		obs.Err = ErrCapacityUnknown // hold: unknown is not zero
	}
	burst := c.readBurst(ctx)
	if burst != nil {
		ready := burst.ReadyEndpoints > 0
		obs.BurstReady = &ready
	}
	if err == nil {
		obs.BurstWarming = c.prescale(ctx, rps, burst)
	}
	return obs, capacity, burst, latencyErr
}

// readBurst counts the burst cluster's ready workers, when configured. Nil:
// not read. An unreachable API counts as none.
func (c *Controller) readBurst(ctx context.Context) *bursterapi.Burst {
	if c.cfg.Burst == nil {
		return nil
	}
	n, err := c.cfg.Burst.Ready(ctx)
	c.cfg.Metrics.burst(n, err)
	if err != nil {
		if ctx.Err() == nil {
			c.cfg.Log.Warn("the burst cluster's readiness unknown: counted as not ready", "err", err)
		}
		return &bursterapi.Burst{}
	}
	return &bursterapi.Burst{ReadyEndpoints: n, Reachable: true}
}

// measureCapacity reads primary's capacity, when configured. Nil: not
// measured.
func (c *Controller) measureCapacity() *bursterapi.Capacity {
	if c.cfg.Capacity == nil {
		return nil
	}
	rps, ready, err := c.cfg.Capacity.Capacity()
	c.cfg.Metrics.capacity(rps, ready, err)
	if err != nil {
		c.cfg.Log.Warn("primary's capacity unknown", "err", err)
		return nil
	}
	return &bursterapi.Capacity{RPS: rps, ReadyEndpoints: ready}
}

// failingShare is the share of a destination's requests that must fail for
// it to be reported failing.
const failingShare = 0.5

// measureDestinations measures each destination's traffic, when configured, and
// reports a destination that starts or stops failing. Nil: not measured.
func (c *Controller) measureDestinations(ctx context.Context) *bursterapi.Destinations {
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
	out := &bursterapi.Destinations{Primary: health(d.Primary), Burst: health(d.Burst)}
	for i, h := range []struct {
		name string
		d    bursterapi.Destination
	}{{source.Primary, out.Primary}, {source.Burst, out.Burst}} {
		if h.d.Failing == c.term.failing[i] {
			continue
		}
		c.term.failing[i] = h.d.Failing
		traffic := fmt.Sprintf("%.1f of %.1f req/s failed", h.d.FailedRPS, h.d.RPS)
		if h.d.Failing {
			c.note(slog.LevelWarn, bursterapi.DestinationFailing,
				fmt.Sprintf("%s is failing: %s (5xx or no answer); its requests still count as load", h.name, traffic))
		} else {
			c.note(slog.LevelInfo, bursterapi.DestinationRecovered, fmt.Sprintf("%s recovered: %s", h.name, traffic))
		}
	}
	return out
}

// health judges one destination's traffic.
func health(t source.Traffic) bursterapi.Destination {
	return bursterapi.Destination{
		RPS: t.RPS, FailedRPS: t.FailedRPS,
		Failing: t.RPS > 0 && t.FailedRPS >= failingShare*t.RPS,
	}
}

// measureSecurity reads how each destination's requests travel, when
// configured, for the status. Nil: not measured, or the last reading failed.
func (c *Controller) measureSecurity(ctx context.Context) {
	if c.cfg.Security == nil {
		return
	}
	var out *bursterapi.Security
	s, err := c.cfg.Security.Security(ctx)
	if err == nil {
		out = &bursterapi.Security{Primary: s.Primary, Burst: s.Burst}
	} else if ctx.Err() == nil {
		c.cfg.Log.Debug("the connections' security not measured", "err", err)
	}
	c.mu.Lock()
	c.security = out
	c.mu.Unlock()
}

// budgetReading is an error budget read, or the class of why it was not.
type budgetReading struct {
	budget  *bursterapi.Budgets
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
	of := func(o source.BudgetOf) bursterapi.ErrorBudget {
		out := bursterapi.ErrorBudget{Left: o.Left}
		for _, burn := range o.Burns {
			out.Burns = append(out.Burns, bursterapi.Burn{Window: burn.Window, Rate: burn.Rate})
		}
		return out
	}
	return budgetReading{budget: &bursterapi.Budgets{Period: b.Period, Primary: of(b.Primary), Burst: of(b.Burst)}}
}
