package controller

import (
	"context"

	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

// observe gathers what the policy decides from: the rate (or its error's
// class: the decision's reason reaches events, the status and the page; the
// detail is in the log), primary's capacity and the burst cluster's
// readiness when configured, whether burst is still scaling up, and each
// destination's latency window (the class of its error, if it failed).
func (c *Controller) observe(ctx context.Context, rps float64, err error) (policy.Observation, *HomeCapacity, *Burst, error) {
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
func (c *Controller) readBurst(ctx context.Context) *Burst {
	if c.cfg.Burst == nil {
		return nil
	}
	n, err := c.cfg.Burst.Ready(ctx)
	c.cfg.Metrics.burst(n, err)
	if err != nil {
		if ctx.Err() == nil {
			c.cfg.Log.Warn("the burst cluster's readiness unknown: counted as not ready", "err", err)
		}
		return &Burst{}
	}
	return &Burst{ReadyEndpoints: n, Reachable: true}
}

// measureCapacity reads primary's capacity, when configured. Nil: not
// measured.
func (c *Controller) measureCapacity() *HomeCapacity {
	if c.cfg.Capacity == nil {
		return nil
	}
	rps, ready, err := c.cfg.Capacity.Capacity()
	c.cfg.Metrics.capacity(rps, ready, err)
	if err != nil {
		c.cfg.Log.Warn("primary's capacity unknown", "err", err)
		return nil
	}
	return &HomeCapacity{RPS: rps, ReadyEndpoints: ready}
}
