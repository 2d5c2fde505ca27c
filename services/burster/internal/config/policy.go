package config

import (
	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

// EnvPolicyName names the one policy the variables configure (POLICIES=env)
// in the status API and the metrics.
const EnvPolicyName = "worker"

// BurstPolicy is the policy the variables configure, as a BurstPolicy named
// EnvPolicyName in the namespace: what the status API carries in env mode,
// and what a person moving to POLICIES=kubernetes starts from
// (docs/clusters.md maps each variable to its field). BURST_KUBECONFIG, a
// mounted file, has no field: a BurstPolicy names a Secret instead, so
// the burst destination's readiness shows its Service alone. c has been
// validated.
func (c Config) BurstPolicy() *v1alpha1.BurstPolicy {
	p := &v1alpha1.BurstPolicy{}
	p.APIVersion, p.Kind = v1alpha1.GroupVersion.String(), v1alpha1.Kind
	p.Name, p.Namespace = EnvPolicyName, c.Namespace
	s := &p.Spec
	primary := v1alpha1.Destination{Name: source.Primary}
	burst := v1alpha1.Destination{Name: source.Burst}
	switch c.Router {
	case router.KindIstio:
		s.Route.VirtualService = &v1alpha1.ObjectName{Name: c.VirtualService}
		primary.Subset, burst.Subset = c.PrimarySubset, c.BurstSubset
	case router.KindGatewayAPI:
		s.Route.HTTPRoute = &v1alpha1.ObjectName{Name: c.HTTPRoute}
		primary.BackendRef, burst.BackendRef = c.PrimaryBackend, c.BurstBackend
	case router.KindLocalMesh:
		s.Route.LocalMesh = &v1alpha1.LocalMesh{AdminURL: c.MeshAdminURL}
	}
	if c.PerEndpointRPS > 0 && c.Strategy == policy.Spillover {
		primary.Readiness = &v1alpha1.Readiness{Service: c.WorkerService}
	}
	switch {
	case c.MeshReadiness:
		burst.Readiness = &v1alpha1.Readiness{FromRouter: true}
	case c.BurstKubeconfig != "":
		burst.Readiness = &v1alpha1.Readiness{Service: c.WorkerService}
	}
	if c.BurstPrescale {
		burst.Prescale = &v1alpha1.Prescale{HPA: c.BurstHPA, WarmRPS: c.WarmRPS,
			Cooldown: v1alpha1.Duration(c.BurstCooldown.String()), Wait: v1alpha1.Duration(c.PrescaleWait.String())}
	}
	s.Destinations = []v1alpha1.Destination{primary, burst}

	switch c.Source {
	case source.KindPrometheus:
		s.Measurement.Prometheus = &v1alpha1.PrometheusMeasurement{URL: c.PrometheusURL, Query: c.Query,
			DestinationsQuery: c.DestinationsQuery, LatencyQuery: c.SLOQuery, BudgetQuery: c.SLOBudgetQuery,
			SecurityQuery: c.SecurityQuery, ScrapeInterval: v1alpha1.Duration(c.ScrapeInterval.String())}
	case source.KindScrape:
		m := &v1alpha1.ScrapeMeasurement{URL: c.ScrapeURL, Metric: c.ScrapeMetric, Window: v1alpha1.Duration(c.ScrapeWindow.String()),
			DestinationLabel: c.ScrapeDestinationLabel, CodeLabel: c.ScrapeCodeLabel, LatencyMetric: c.SLOScrapeMetric}
		// Checked as the scrape source was built.
		if labels, err := source.ParseLabels(c.ScrapeLabels); err == nil && len(labels) > 0 {
			m.Labels = labels
		}
		s.Measurement.Scrape = m
	}

	low := c.LowRPS
	s.Strategy = v1alpha1.Strategy{Type: v1alpha1.StrategyType(c.Strategy), HighRPS: c.HighRPS, LowRPS: &low, Step: int32(c.Step),
		CapacityRPS: c.CapacityRPS, CapacityPerEndpointRPS: c.PerEndpointRPS,
		SLO: &v1alpha1.SLO{LatencyMS: c.SLOLatencyMS, Target: c.SLOTarget, Window: v1alpha1.Duration(c.SLOWindow.String()),
			MinRequests: c.SLOMinRequests, Probe: v1alpha1.Duration(c.SLOProbe.String()), Headroom: c.SLOHeadroom,
			Buckets: append([]float64(nil), c.SLOBuckets...)}}
	s.Interval, s.MinDwell = v1alpha1.Duration(c.Interval.String()), v1alpha1.Duration(c.MinDwell.String())
	s.Timeout, s.FailureThreshold = v1alpha1.Duration(c.QueryTimeout.String()), int32(c.FailureThreshold)
	s.FailSafe, s.DryRun = v1alpha1.FailSafeHold, c.DryRun
	if c.FailSafe == policy.FailSafePrimary {
		s.FailSafe = v1alpha1.FailSafeHome
	}
	return p
}
