package controller

import (
	"context"

	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

// observe gathers what the policy decides from: the rate (or its error's
// class: the decision's reason reaches events, the status and the page; the
// detail is in the log), primary's capacity and the burst cluster's
// readiness when configured, whether burst is still scaling up, and each
// destination's latency window (the class of its error, if it failed).
func (c *Controller) observe(ctx context.Context, rps float64, err error) (policy.Observation, *HomeCapacity, *Burst, []*Burst, error) {
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
	next := policy.Away{Ready: ready(burst), CapacityRPS: c.cfg.BurstCapacity.of(burst)}
	if err == nil {
		next.Warming = c.prescale(ctx, 1, rps, burst)
	}
	obs.Away = []policy.Away{next}
	var further []*Burst
	for i, f := range c.cfg.Further {
		r := c.readFurther(ctx, i, f)
		a := policy.Away{Ready: ready(r), CapacityRPS: f.Capacity.of(r)}
		if err == nil {
			a.Warming = c.prescale(ctx, i+2, rps, r)
		}
		obs.Away = append(obs.Away, a)
		further = append(further, r)
	}
	return obs, capacity, burst, further, latencyErr
}

// ready is whether a destination has a ready worker; nil when not read.
func ready(r *Burst) *bool {
	if r == nil {
		return nil
	}
	ok := r.ReadyEndpoints > 0
	return &ok
}

// readFurther counts the i-th further destination's ready workers, when
// configured. Nil: not read. An unreachable API counts as none; it is
// logged when it starts failing, or fails otherwise, and when it answers
// again: not once a measurement.
func (c *Controller) readFurther(ctx context.Context, i int, f Further) *Burst {
	if f.Ready == nil {
		return nil
	}
	n, err := f.Ready.Ready(ctx)
	if ctx.Err() != nil {
		return &Burst{} // shutting down: not a reading
	}
	c.cfg.Metrics.ready(f.Name, n, err)
	if c.term.furtherErr == nil {
		c.term.furtherErr = make([]string, len(c.cfg.Further))
	}
	class := router.Classify(err) // "" when read
	switch last := c.term.furtherErr[i]; {
	case class != "" && class != last:
		c.cfg.Log.Warn("a destination's readiness unknown: counted as not ready", "destination", f.Name, "err", err)
	case class == "" && last != "":
		c.cfg.Log.Info("a destination's readiness read again", "destination", f.Name, "ready", n)
	}
	c.term.furtherErr[i] = class
	if err != nil {
		return &Burst{}
	}
	return &Burst{ReadyEndpoints: n, Reachable: true}
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
