package config

import (
	"testing"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
)

// TestBurstPolicy: every configuration the variables accept is a policy
// the BurstPolicy's own rules accept, carrying the same settings.
func TestBurstPolicy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		check func(*testing.T, *v1alpha1.BurstPolicy)
	}{
		{"defaults", nil, func(t *testing.T, p *v1alpha1.BurstPolicy) {
			s := p.Spec
			if s.Route.VirtualService == nil || s.Route.VirtualService.Name != "worker" || s.Destinations[1].Subset != "burst" ||
				s.Strategy.Type != v1alpha1.StrategySwitch || s.Strategy.HighRPS != 15 || *s.Strategy.LowRPS != 10 ||
				s.Measurement.Prometheus == nil || s.Measurement.Prometheus.Query != DefaultQuery || s.FailSafe != v1alpha1.FailSafeHold {
				t.Fatalf("spec = %+v", s)
			}
		}},
		{"slo on the gateway api, fail-safe home", map[string]string{"ROUTER": "gatewayapi", "STRATEGY": "slo", "SLO_WINDOW": "30s",
			"FAIL_SAFE": "primary", "SECURITY_QUERY": "q"}, func(t *testing.T, p *v1alpha1.BurstPolicy) {
			s := p.Spec
			if s.Route.HTTPRoute == nil || s.Destinations[0].BackendRef != "worker-primary" || s.Strategy.SLO.Window != "30s" ||
				s.Measurement.Prometheus.LatencyQuery != DefaultSLOQueryGatewayAPI || s.FailSafe != v1alpha1.FailSafeHome ||
				s.Measurement.Prometheus.SecurityQuery != "q" {
				t.Fatalf("spec = %+v", s)
			}
		}},
		{"pre-scaled burst, read through a kubeconfig", map[string]string{"BURST_KUBECONFIG": "/k", "BURST_PRESCALE": "true",
			"CAPACITY_PER_ENDPOINT_RPS": "12", "WARM_RPS": "8", "BURST_COOLDOWN": "1m"}, func(t *testing.T, p *v1alpha1.BurstPolicy) {
			d := p.Spec.Destinations[1]
			if d.Readiness == nil || d.Readiness.Service != "worker" || d.Prescale == nil || d.Prescale.WarmRPS != 8 || d.Prescale.Cooldown != "1m0s" {
				t.Fatalf("burst = %+v", d)
			}
		}},
		{"the demo's: scrape and the local mesh", map[string]string{"ROUTER": "localmesh", "MESH_ADMIN_URL": "http://127.0.0.1:9", "LEADER_ELECT": "false",
			"MESH_READINESS": "true", "SOURCE": "scrape", "SCRAPE_URL": "http://127.0.0.1:9/metrics", "SCRAPE_METRIC": "m_total",
			"SCRAPE_LABELS": "a=b, c=d", "STRATEGY": "spillover", "CAPACITY_RPS": "20"}, func(t *testing.T, p *v1alpha1.BurstPolicy) {
			s := p.Spec
			if s.Route.LocalMesh == nil || !s.Destinations[1].Readiness.FromRouter || s.Measurement.Scrape.Labels["c"] != "d" ||
				s.Strategy.CapacityRPS != 20 {
				t.Fatalf("spec = %+v", s)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := envconf.Load[Config]()
			if err != nil {
				t.Fatal(err)
			}
			p := c.BurstPolicy()
			p.Default()
			if errs := p.Validate(); len(errs) > 0 {
				t.Fatalf("the policy of %v is refused: %v", tc.env, errs.ToAggregate())
			}
			if p.Name != EnvPolicyName || p.Kind != v1alpha1.Kind {
				t.Fatalf("policy %s %s", p.Kind, p.Name)
			}
			tc.check(t, p)
		})
	}
}
