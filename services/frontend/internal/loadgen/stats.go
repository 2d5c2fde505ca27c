package loadgen

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
)

// Stats returns the current figures, as the page shows them.
func (g *Generator) Stats() pageapi.Generator {
	s := pageapi.Generator{
		TargetRPS:   g.Rate(),
		SentRPS:     g.meter.sentRate(),
		AchievedRPS: g.meter.okRate(),
		InFlight:    len(g.sem),
		Sent:        g.sent.Load(),
		Succeeded:   g.succeeded.Load(),
		Failed:      g.failed.Load(),
		Dropped:     g.dropped.Load(),
	}
	if p := g.lastErr.Load(); p != nil {
		s.LastError = *p
	}
	return s
}

// meter turns the monotonically growing counters into per-second rates,
// sampled once a second by Run.
type meter struct {
	at           time.Time
	ok, sent     uint64
	okBits, sBit atomic.Uint64 // float64 rates
}

func (m *meter) start(now time.Time, ok, sent uint64) { m.at, m.ok, m.sent = now, ok, sent }

func (m *meter) sample(now time.Time, ok, sent uint64) {
	dt := now.Sub(m.at).Seconds()
	if dt <= 0 {
		return
	}
	m.okBits.Store(math.Float64bits(float64(ok-m.ok) / dt))
	m.sBit.Store(math.Float64bits(float64(sent-m.sent) / dt))
	m.start(now, ok, sent)
}

func (m *meter) okRate() float64   { return math.Float64frombits(m.okBits.Load()) }
func (m *meter) sentRate() float64 { return math.Float64frombits(m.sBit.Load()) }

// RegisterMetrics exposes the generator's figures on reg. They read the same
// counters as Stats, so the page and /metrics always agree.
func (g *Generator) RegisterMetrics(reg prometheus.Registerer) {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	counter := func(result string, c *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "loadgen_requests_total",
			Help:        "Requests to the worker by result: ok, error (failed or non-200) or dropped (never sent).",
			ConstLabels: prometheus.Labels{"result": result},
		}, func() float64 { return float64(c.Load()) })
	}
	reg.MustRegister(
		gauge("loadgen_target_rps", "Requested rate, requests per second.", func() float64 { return float64(g.Rate()) }),
		gauge("loadgen_achieved_rps", "Requests answered 200 in the last second.", g.meter.okRate),
		gauge("loadgen_in_flight", "Requests sent and not yet answered.", func() float64 { return float64(len(g.sem)) }),
		counter("ok", &g.succeeded),
		counter("error", &g.failed),
		counter("dropped", &g.dropped),
	)
}
