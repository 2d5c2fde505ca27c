package v1alpha1

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// istioSLO is a valid policy as the slo overlay writes it: a VirtualService,
// Prometheus, and a burst cluster read and pre-scaled through a Secret.
func istioSLO() *BurstPolicy {
	return &BurstPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: GroupVersion.String(), Kind: Kind},
		ObjectMeta: metav1.ObjectMeta{Name: "worker"},
		Spec: BurstPolicySpec{
			Route: Route{VirtualService: &ObjectName{Name: "worker"}},
			Destinations: []Destination{
				{Name: "primary", Subset: "primary", Readiness: &Readiness{Service: "worker"}},
				{Name: "burst", Subset: "burst",
					Readiness: &Readiness{Service: "worker", KubeconfigSecret: &SecretKeyRef{Name: "burst-kubeconfig"}},
					Prescale:  &Prescale{HPA: "worker", WarmRPS: 10}},
			},
			Measurement: Measurement{Prometheus: &PrometheusMeasurement{URL: "http://prometheus.istio-system:9090"}},
			Strategy:    Strategy{Type: StrategySLO, CapacityPerEndpointRPS: 5, SLO: &SLO{Window: "30s"}},
		},
	}
}

// validPolicies are policies both Validate and the API server accept: one
// of each route kind, source and strategy.
func validPolicies() map[string]*BurstPolicy {
	gateway := istioSLO()
	gateway.Spec.Route = Route{HTTPRoute: &ObjectName{Name: "worker"}}
	for i, d := range gateway.Spec.Destinations {
		gateway.Spec.Destinations[i].Subset, gateway.Spec.Destinations[i].BackendRef = "", "worker-"+d.Name
	}
	gateway.Spec.Strategy = Strategy{Type: StrategyStep, HighRPS: 15, LowRPS: ptr(0.0), Step: 10, CapacityPerEndpointRPS: 5}

	demo := istioSLO()
	demo.Spec.Route = Route{LocalMesh: &LocalMesh{AdminURL: "http://127.0.0.1:9901"}}
	demo.Spec.Destinations = []Destination{{Name: "primary"}, {Name: "burst", Readiness: &Readiness{FromRouter: true}}}
	demo.Spec.Measurement = Measurement{Scrape: &ScrapeMeasurement{URL: "http://127.0.0.1:9901/metrics",
		Metric: "localmesh_requests_total", Labels: map[string]string{"service": "worker"}, DestinationLabel: "destination",
		LatencyMetric: "localmesh_request_duration_milliseconds"}}
	demo.Spec.Strategy = Strategy{Type: StrategySLO, SLO: &SLO{Window: "10s", Probe: "0s", LatencyMS: 100}}

	spill := istioSLO()
	spill.Spec.Destinations[1].Prescale = nil
	spill.Spec.Strategy = Strategy{Type: StrategySpillover, CapacityRPS: 20}
	spill.Spec.FailSafe, spill.Spec.DryRun = FailSafeHome, true
	return map[string]*BurstPolicy{"istio slo": istioSLO(), "gatewayapi step": gateway, "demo slo": demo, "spillover": spill,
		"spillover across three": threeClusters(), "slo across three pre-scaled": sloThree()}
}

// sloThree is a valid slo across three clusters, burst and burst-2 each
// pre-scaled in its own cluster.
func sloThree() *BurstPolicy {
	p := istioSLO()
	p.Spec.Destinations = append(p.Spec.Destinations, Destination{Name: "burst-2", Subset: "burst-2",
		Readiness: &Readiness{Service: "worker", KubeconfigSecret: &SecretKeyRef{Name: "burst-2-kubeconfig"}},
		Prescale:  &Prescale{HPA: "worker", WarmRPS: 30}})
	return p
}

// threeClusters is a valid spillover across three clusters: burst carries
// 20 req/s beyond home's, burst-2 the rest.
func threeClusters() *BurstPolicy {
	p := istioSLO()
	p.Spec.Destinations[1].Prescale, p.Spec.Destinations[1].CapacityRPS = nil, ptr(20.0)
	p.Spec.Destinations = append(p.Spec.Destinations, Destination{Name: "burst-2", Subset: "burst-2",
		Readiness: &Readiness{Service: "worker", KubeconfigSecret: &SecretKeyRef{Name: "burst-2-kubeconfig"}}})
	p.Spec.Strategy = Strategy{Type: StrategySpillover, CapacityRPS: 20}
	return p
}

// badPolicy is a change that makes a valid policy invalid, and the field
// both Validate and the API server must name.
type badPolicy struct {
	name  string
	bad   func(*BurstPolicy)
	field string
}

// badPolicies are refused by Validate and by the API server, each naming
// its field (TestAdmissionRefusesBadPolicies runs them against the API
// server).
var badPolicies = []badPolicy{
	{"no route", func(p *BurstPolicy) { p.Spec.Route = Route{} }, "spec.route"},
	{"two route kinds", func(p *BurstPolicy) { p.Spec.Route.HTTPRoute = &ObjectName{Name: "worker"} }, "spec.route"},
	{"route name", func(p *BurstPolicy) { p.Spec.Route.VirtualService.Name = "Worker!" }, "spec.route.virtualService.name"},
	{"one destination", func(p *BurstPolicy) { p.Spec.Destinations = p.Spec.Destinations[:1] }, "spec.destinations"},
	{"same name twice", func(p *BurstPolicy) { p.Spec.Destinations[1].Name = "primary" }, "spec.destinations[1]"},
	{"destination name", func(p *BurstPolicy) { p.Spec.Destinations[1].Name = "Burst" }, "spec.destinations[1].name"},
	{"no subset", func(p *BurstPolicy) { p.Spec.Destinations[1].Subset = "" }, "spec.destinations"},
	{"home pre-scaled", func(p *BurstPolicy) { p.Spec.Destinations[0].Prescale = &Prescale{HPA: "worker", WarmRPS: 10} }, "spec.destinations"},
	{"readiness from two places", func(p *BurstPolicy) { p.Spec.Destinations[0].Readiness.FromRouter = true }, "spec.destinations[0].readiness"},
	{"secret without a service", func(p *BurstPolicy) {
		p.Spec.Destinations[1].Readiness = &Readiness{FromRouter: true, KubeconfigSecret: &SecretKeyRef{Name: "k"}}
	}, "spec.destinations[1].readiness.kubeconfigSecret"},
	{"warm at 0", func(p *BurstPolicy) { p.Spec.Destinations[1].Prescale.WarmRPS = 0 }, "spec.destinations[1].prescale.warmRps"},
	{"pre-scaled without a Service to count its workers", func(p *BurstPolicy) {
		p.Spec.Destinations[1].Readiness = &Readiness{FromRouter: true}
	}, "spec.destinations[1].prescale"},
	{"pre-scaled without a per-endpoint rate", func(p *BurstPolicy) { p.Spec.Strategy.CapacityPerEndpointRPS = 0 },
		"spec.strategy.capacityPerEndpointRps"},
	{"warm above high", func(p *BurstPolicy) {
		p.Spec.Strategy = Strategy{Type: StrategySwitch, HighRPS: 8, CapacityPerEndpointRPS: 5}
	}, "spec.destinations"},
	{"no source", func(p *BurstPolicy) { p.Spec.Measurement = Measurement{} }, "spec.measurement"},
	{"prometheus URL", func(p *BurstPolicy) { p.Spec.Measurement.Prometheus.URL = "prometheus:9090" }, "spec.measurement.prometheus.url"},
	{"unknown strategy", func(p *BurstPolicy) { p.Spec.Strategy.Type = "fastest" }, "spec.strategy.type"},
	{"low above high", func(p *BurstPolicy) {
		p.Spec.Strategy = Strategy{Type: StrategyStep, HighRPS: 10, LowRPS: ptr(12.0), CapacityPerEndpointRPS: 5}
		p.Spec.Destinations[1].Prescale.WarmRPS = 5
	}, "spec.strategy.lowRps"},
	{"three destinations under step", func(p *BurstPolicy) {
		*p = *threeClusters()
		p.Spec.Destinations[1].CapacityRPS = nil
		p.Spec.Strategy = Strategy{Type: StrategyStep, HighRPS: 10, Step: 10}
	}, "spec.destinations"},
	{"nine destinations", func(p *BurstPolicy) {
		*p = *threeClusters()
		for i := 3; i < 9; i++ {
			p.Spec.Destinations = append(p.Spec.Destinations, Destination{Name: fmt.Sprintf("burst-%d", i), Subset: fmt.Sprintf("burst-%d", i)})
		}
	}, "spec.destinations"},
	{"a destination's capacity under switch", func(p *BurstPolicy) {
		p.Spec.Destinations[1].Prescale = nil
		p.Spec.Destinations[1].CapacityRPS = ptr(20.0)
		p.Spec.Strategy = Strategy{Type: StrategySwitch, HighRPS: 10}
	}, "spec.destinations"},
	{"home's capacity on the destination", func(p *BurstPolicy) {
		*p = *threeClusters()
		p.Spec.Destinations[0].CapacityRPS = ptr(20.0)
	}, "spec.destinations"},
	{"the last destination's capacity", func(p *BurstPolicy) {
		*p = *threeClusters()
		p.Spec.Destinations[2].CapacityRPS = ptr(20.0)
	}, "spec.destinations"},
	{"negative destination capacity", func(p *BurstPolicy) {
		*p = *threeClusters()
		p.Spec.Destinations[1].CapacityRPS = ptr(-1.0)
	}, "spec.destinations[1].capacityRps"},
	{"step over 100", func(p *BurstPolicy) { p.Spec.Strategy.Step = 101 }, "spec.strategy.step"},
	{"spillover without capacity", func(p *BurstPolicy) {
		p.Spec.Destinations[1].Prescale = nil
		p.Spec.Strategy = Strategy{Type: StrategySpillover, CapacityRPS: -1}
	}, "spec.strategy.capacityRps"},
	{"target of 1", func(p *BurstPolicy) { p.Spec.Strategy.SLO.Target = 1 }, "spec.strategy.slo.target"},
	{"target of 99", func(p *BurstPolicy) { p.Spec.Strategy.SLO.Target = 99 }, "spec.strategy.slo.target"},
	{"objective between buckets", func(p *BurstPolicy) { p.Spec.Strategy.SLO.LatencyMS = 300 }, "spec.strategy.slo.latencyMs"},
	{"objective off the given buckets", func(p *BurstPolicy) { p.Spec.Strategy.SLO.Buckets = []float64{100, 500} },
		"spec.strategy.slo.latencyMs"},
	{"window under four scrapes", func(p *BurstPolicy) { p.Spec.Strategy.SLO.Window = "7s" }, "spec.strategy.slo.window"},
	{"window under four intervals", func(p *BurstPolicy) {
		p.Spec.Measurement = Measurement{Scrape: &ScrapeMeasurement{URL: "http://127.0.0.1:1/metrics", Metric: "m"}}
		p.Spec.Interval, p.Spec.Strategy.SLO.Window = "2s", "6s"
	}, "spec.strategy.slo.window"},
	{"headroom over half", func(p *BurstPolicy) { p.Spec.Strategy.SLO.Headroom = 0.6 }, "spec.strategy.slo.headroom"},
	{"no minimum requests", func(p *BurstPolicy) { p.Spec.Strategy.SLO.MinRequests = 0.5 }, "spec.strategy.slo.minRequests"},
	{"not a duration", func(p *BurstPolicy) { p.Spec.MinDwell = "five seconds" }, "spec.minDwell"},
	{"interval of 0", func(p *BurstPolicy) { p.Spec.Interval = "0s" }, "spec.interval"},
	{"failure threshold", func(p *BurstPolicy) { p.Spec.FailureThreshold = -1 }, "spec.failureThreshold"},
	{"unknown fail-safe", func(p *BurstPolicy) { p.Spec.FailSafe = "primary" }, "spec.failSafe"},
}

func TestValidateAccepts(t *testing.T) {
	for name, p := range validPolicies() {
		t.Run(name, func(t *testing.T) {
			if errs := p.Validate(); len(errs) > 0 {
				t.Fatalf("refused: %v", errs.ToAggregate())
			}
		})
	}
}

func TestValidateRefuses(t *testing.T) {
	for _, tt := range badPolicies {
		t.Run(tt.name, func(t *testing.T) {
			p := istioSLO()
			tt.bad(p)
			errs := p.Validate()
			var fields []string
			for _, e := range errs {
				if e.Field == tt.field {
					return
				}
				fields = append(fields, e.Field)
			}
			t.Fatalf("want an error naming %s, got %d naming [%s]: %v", tt.field, len(errs), strings.Join(fields, ", "),
				errs.ToAggregate())
		})
	}
}

func TestValidateLeavesThePolicyAsItWas(t *testing.T) {
	p := istioSLO()
	p.Validate()
	if p.Spec.Interval != "" || p.Spec.Strategy.LowRPS != nil {
		t.Fatalf("Validate filled in the caller's policy: interval %q, lowRps %v", p.Spec.Interval, p.Spec.Strategy.LowRPS)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   Duration
		want string // "" for an error
	}{
		{"1s", "1s"}, {"1m30s", "1m30s"}, {"250ms", "250ms"}, {"1.5h", "1h30m0s"}, {"0s", "0s"},
		{"", ""}, {"5", ""}, {"-1s", ""}, {"1d", ""}, {"1 s", ""}, {"1us", ""},
	}
	for _, tt := range tests {
		d, err := tt.in.Duration()
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("%q: want an error, got %s", tt.in, d)
		case tt.want != "" && (err != nil || d.String() != tt.want):
			t.Errorf("%q: want %s, got %s, %v", tt.in, tt.want, d, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }
