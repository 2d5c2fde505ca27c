package controller

import (
	"errors"
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

// Metrics are the burster's Prometheus metrics.
type Metrics struct {
	observed     prometheus.Gauge
	measurements prometheus.Counter
	weight       *prometheus.GaugeVec
	changes      prometheus.Counter
	corrections  prometheus.Counter
	queryErrors  *prometheus.CounterVec
	leader       prometheus.Gauge
	destRPS      *prometheus.GaugeVec
	destFailed   *prometheus.GaugeVec
	capRPS       prometheus.Gauge
	capReady     prometheus.Gauge
	burstReady   prometheus.Gauge
	destReady    *prometheus.GaugeVec
	burstBlocked prometheus.Gauge
	prescaled    prometheus.Gauge
	destPrescale *prometheus.GaugeVec
	sli          *prometheus.GaugeVec
	burn         *prometheus.GaugeVec
	learned      prometheus.Gauge
	// reportsSkipped counts ticks that started no status report because
	// the last one still ran: a status dependency that is slow.
	reportsSkipped prometheus.Counter

	reg        prometheus.Registerer
	registered []prometheus.Collector
}

// NewMetrics registers the burster's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics { return newMetrics(reg, true) }

// NewPolicyMetrics registers one policy's metrics on reg, which labels them
// with the policy (prometheus.WrapRegistererWith): all but burster_leader,
// which is the process's. Unregister removes them with the policy.
func NewPolicyMetrics(reg prometheus.Registerer) *Metrics { return newMetrics(reg, false) }

// Unregister removes the metrics from the registerer they were registered
// on, so that a deleted policy leaves no series behind.
func (m *Metrics) Unregister() {
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
}

func newMetrics(reg prometheus.Registerer, withLeader bool) *Metrics {
	m := &Metrics{
		observed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "burster_observed_rps", Help: "Last measured request rate; NaN when the last measurement failed.",
		}),
		measurements: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "burster_measurements_total", Help: "Measurements taken, one per INTERVAL while leading, whatever their outcome: the loop is alive.",
		}),
		weight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "burster_weight", Help: "Current route weight in percent, by destination (primary, burst, ...; the label is named subset).",
		}, []string{"subset"}),
		changes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "burster_changes_total", Help: "Weight changes the burster decided and wrote.",
		}),
		corrections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "burster_drift_corrections_total", Help: "Times the weights were changed by someone else and put back.",
		}),
		queryErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "burster_query_errors_total", Help: "Measurements without a rate, by kind: error or no_data.",
		}, []string{"kind"}),
		leader: newLeader(),
		destRPS: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "burster_destination_rps", Help: "Requests per second sent to each destination (primary, burst); NaN when not measured.",
		}, []string{"destination"}),
		destFailed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "burster_destination_failed_rps", Help: "Of those, failed (5xx or no answer); NaN when not measured.",
		}, []string{"destination"}),
		capRPS: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "burster_primary_capacity_rps", Help: "Primary's live capacity: ready endpoints × the rate one serves; NaN when unknown.",
		}),
		capReady: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "burster_primary_ready_endpoints", Help: "Ready endpoints of the worker Service in primary; NaN when unknown.",
		}),
		burstReady: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "burster_burst_ready_endpoints", Help: "Ready workers in the burst cluster; NaN when its API cannot be reached (counted as none).",
		}),
		destReady: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "burster_destination_ready_endpoints", Help: "Ready workers of each destination after home whose readiness is read; NaN when its API cannot be reached (counted as none).",
		}, []string{"destination"}),
		burstBlocked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "burster_burst_blocked", Help: "1 while weights are kept off a destination after home (burst, or a further one) because it has no ready worker.",
		}),
		prescaled: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "burster_burst_prescaled_min_replicas", Help: "The burst HPA's minReplicas as the burster raised it; 0 when not raised.",
		}),
		destPrescale: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "burster_destination_prescaled_min_replicas", Help: "Each pre-scaled destination's HPA minReplicas as the burster raised it; 0 when not raised.",
		}, []string{"destination"}),
		sli: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "burster_slo_sli", Help: "STRATEGY=slo: the share of good requests over SLO_WINDOW, by destination; NaN when not judged.",
		}, []string{"destination"}),
		burn: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "burster_slo_burn_rate", Help: "STRATEGY=slo: (1 - SLI) / (1 - SLO_TARGET) by destination; above 1 spends the budget too fast; NaN when not judged.",
		}, []string{"destination"}),
		learned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "burster_slo_learned_capacity_rps", Help: "STRATEGY=slo: primary's capacity as measured while it queued (the status' learnedCapacityRps); 0 until measured, NaN under other strategies.",
		}),
		reportsSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "burster_status_reports_skipped_total", Help: "Measurements for the status only (destinations, budget, security) not started because the last ones were still running.",
		}),
	}
	m.reg = reg
	m.registered = []prometheus.Collector{m.observed, m.measurements, m.weight, m.changes, m.corrections, m.queryErrors, m.destRPS,
		m.destFailed, m.capRPS, m.capReady, m.burstReady, m.destReady, m.burstBlocked, m.prescaled, m.destPrescale, m.sli, m.burn, m.learned, m.reportsSkipped}
	if withLeader {
		m.registered = append(m.registered, m.leader)
	}
	reg.MustRegister(m.registered...)
	m.slo(nil, 0)
	m.learned.Set(math.NaN())
	m.queryErrors.WithLabelValues("error")
	m.queryErrors.WithLabelValues("no_data")
	return m
}

// NewLeaderMetric registers burster_leader on reg alone, for a process
// whose policies' metrics are each their own (NewPolicyMetrics).
func NewLeaderMetric(reg prometheus.Registerer) prometheus.Gauge {
	g := newLeader()
	reg.MustRegister(g)
	return g
}

func newLeader() prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "burster_leader", Help: "1 while this replica holds the lease and may write, else 0.",
	})
}

// SetLeader records whether this replica is the leader.
func (m *Metrics) SetLeader(leader bool) {
	if leader {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

func (m *Metrics) observe(rps float64, err error) {
	m.measurements.Inc()
	switch {
	case err == nil:
		m.observed.Set(rps)
		return
	case errors.Is(err, source.ErrNoData):
		m.queryErrors.WithLabelValues("no_data").Inc()
	default:
		m.queryErrors.WithLabelValues("error").Inc()
	}
	m.observed.Set(math.NaN())
}

// destinations records each destination's traffic, or NaN without one.
func (m *Metrics) destinations(d source.Destinations, err error) {
	for _, t := range []struct {
		name string
		t    source.Traffic
	}{{source.Primary, d.Primary}, {source.Burst, d.Burst}} {
		rps, failed := t.t.RPS, t.t.FailedRPS
		if err != nil {
			rps, failed = math.NaN(), math.NaN()
		}
		m.destRPS.WithLabelValues(t.name).Set(rps)
		m.destFailed.WithLabelValues(t.name).Set(failed)
	}
}

// capacity records primary's capacity, or NaN when unknown.
func (m *Metrics) capacity(rps float64, ready int, err error) {
	if err != nil {
		m.capRPS.Set(math.NaN())
		m.capReady.Set(math.NaN())
		return
	}
	m.capRPS.Set(rps)
	m.capReady.Set(float64(ready))
}

// burst records the burst cluster's ready workers, or NaN when unknown.
func (m *Metrics) burst(ready int, err error) {
	m.ready(split.Burst, ready, err)
	if err != nil {
		m.burstReady.Set(math.NaN())
		return
	}
	m.burstReady.Set(float64(ready))
}

// prescale records destination i's HPA minReplicas as the burster raised
// it (0: not raised); burst's (i 1) also unlabelled, as before there were
// more.
func (m *Metrics) prescale(i int, destination string, minReplicas int32) {
	m.destPrescale.WithLabelValues(destination).Set(float64(minReplicas))
	if i == 1 {
		m.prescaled.Set(float64(minReplicas))
	}
}

// ready records a destination's ready workers, or NaN when unknown.
func (m *Metrics) ready(destination string, n int, err error) {
	if err != nil {
		m.destReady.WithLabelValues(destination).Set(math.NaN())
		return
	}
	m.destReady.WithLabelValues(destination).Set(float64(n))
}

func (m *Metrics) weights(s split.Split) {
	for _, sh := range s.Shares() {
		m.weight.WithLabelValues(sh.Name).Set(float64(sh.Weight))
	}
}

// slo records the slo strategy's reading (nil: not judged) and the
// capacity it measured (0: none), as the status' learnedCapacityRps.
func (m *Metrics) slo(r *policy.SLOReading, measured float64) {
	var judged [2]policy.Judgement
	if r != nil {
		judged = [2]policy.Judgement{r.Primary, r.Burst}
		m.learned.Set(measured)
	}
	for i, dest := range []string{source.Primary, source.Burst} {
		sli, burn := math.NaN(), math.NaN()
		if j := judged[i]; j.SLI != nil {
			sli, burn = *j.SLI, *j.Burn
		}
		m.sli.WithLabelValues(dest).Set(sli)
		m.burn.WithLabelValues(dest).Set(burn)
	}
}
