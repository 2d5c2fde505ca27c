package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic/fake"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/config"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

func spec(route v1alpha1.Route, m v1alpha1.Measurement, st v1alpha1.Strategy) *v1alpha1.BurstPolicySpec {
	p := &v1alpha1.BurstPolicy{Spec: v1alpha1.BurstPolicySpec{Route: route, Measurement: m, Strategy: st,
		Destinations: []v1alpha1.Destination{{Name: "primary", Subset: "primary"}, {Name: "burst", Subset: "burst"}}}}
	p.Default()
	return &p.Spec
}

func TestSourceConfig(t *testing.T) {
	vs := v1alpha1.Route{VirtualService: &v1alpha1.ObjectName{Name: "worker"}}
	hr := v1alpha1.Route{HTTPRoute: &v1alpha1.ObjectName{Name: "worker"}}
	prom := v1alpha1.Measurement{Prometheus: &v1alpha1.PrometheusMeasurement{URL: "http://prometheus:9090"}}
	scrape := v1alpha1.Measurement{Scrape: &v1alpha1.ScrapeMeasurement{URL: "http://127.0.0.1:1/metrics", Metric: "m",
		Labels: map[string]string{"service": "worker", "app": "x"}, LatencyMetric: "h"}}
	slo := v1alpha1.Strategy{Type: v1alpha1.StrategySLO}
	tests := []struct {
		name  string
		spec  *v1alpha1.BurstPolicySpec
		check func(source.Config) error
	}{
		{"slo on a VirtualService reads Istio's latency", spec(vs, prom, slo), func(c source.Config) error {
			if c.Query != config.DefaultQuery || c.LatencyQuery != config.DefaultSLOQuery || c.BudgetQuery != config.DefaultBudgetQuery ||
				c.RecentWindow != 4*time.Second || c.LatencyWindow != 30*time.Second || c.Objective != 250 || c.Target != 0.99 {
				return fmt.Errorf("%+v", c)
			}
			return nil
		}},
		{"slo on an HTTPRoute reads each backend's", spec(hr, prom, slo), func(c source.Config) error {
			if c.LatencyQuery != config.DefaultSLOQueryGatewayAPI {
				return fmt.Errorf("latency query %q", c.LatencyQuery)
			}
			return nil
		}},
		{"switch measures no latency", spec(vs, prom, v1alpha1.Strategy{Type: v1alpha1.StrategySwitch}), func(c source.Config) error {
			if c.LatencyQuery != "" || c.LatencyWindow != 0 {
				return fmt.Errorf("%+v", c)
			}
			return nil
		}},
		{"scrape: labels in order, recent window one interval", spec(vs, scrape, slo), func(c source.Config) error {
			if c.Kind != source.KindScrape || c.ScrapeLabels != "app=x,service=worker" || c.LatencyMetric != "h" ||
				c.RecentWindow != time.Second || c.ScrapeWindow != 5*time.Second || c.ScrapeCodeLabel != "code" {
				return fmt.Errorf("%+v", c)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check(sourceConfig(tt.spec, 2*time.Second, time.Second)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPolicyConfig(t *testing.T) {
	s := spec(v1alpha1.Route{VirtualService: &v1alpha1.ObjectName{Name: "w"}},
		v1alpha1.Measurement{Prometheus: &v1alpha1.PrometheusMeasurement{URL: "http://p"}},
		v1alpha1.Strategy{Type: v1alpha1.StrategyStep, LowRPS: new(0.0), HighRPS: 20, Step: 10})
	s.FailSafe, s.MinDwell = v1alpha1.FailSafeHome, "7s"
	c := policyConfig(s)
	want := policy.Config{Strategy: policy.Step, HighRPS: 20, LowRPS: 0, Step: 10, CapacityRPS: 15, MinDwell: 7 * time.Second,
		FailureThreshold: 5, FailSafe: policy.FailSafePrimary, SLOLatency: 250 * time.Millisecond, SLOTarget: 0.99,
		SLOWindow: 30 * time.Second, SLOMinRequests: 20, SLOProbe: 5 * time.Minute, SLOHeadroom: 0.05}
	if c != want {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestFailedStatus(t *testing.T) {
	prev := v1alpha1.BurstPolicyStatus{Split: "60/40"}
	tests := []struct {
		err  error
		want v1alpha1.ConditionReason
	}{
		{fmt.Errorf("%w: the destinations must be named primary and burst", ErrUnsupported), v1alpha1.ReasonUnsupported},
		{errors.New("reading the kubeconfig in Secret x: not found"), v1alpha1.ReasonInvalid},
	}
	for _, tt := range tests {
		got := FailedStatus(prev, 3, tt.err)
		if got.Split != "60/40" || got.ObservedGeneration != 3 {
			t.Errorf("%v: lost the status so far: %+v", tt.err, got)
		}
		for _, typ := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionDegraded} {
			var c *metav1.Condition
			for i := range got.Conditions {
				if got.Conditions[i].Type == typ {
					c = &got.Conditions[i]
				}
			}
			if c == nil || c.Reason != string(tt.want) || c.Message != tt.err.Error() || c.ObservedGeneration != 3 {
				t.Errorf("%v: %s = %+v, want reason %s", tt.err, typ, c, tt.want)
			}
		}
	}
}

func TestRouterReason(t *testing.T) {
	for class, want := range map[string]v1alpha1.ConditionReason{
		"not found": v1alpha1.ReasonRouteNotFound, "unsupported routes": v1alpha1.ReasonRouteUnsupported,
		"not allowed": v1alpha1.ReasonRouterForbidden, "timed out": v1alpha1.ReasonRouterUnreachable,
		"unreachable": v1alpha1.ReasonRouterUnreachable,
	} {
		if got := routerReason(class); got != want {
			t.Errorf("%q: got %s, want %s", class, got, want)
		}
	}
}

// TestLocalMeshOnlyFromAFile: with the Kubernetes API (POLICIES=kubernetes)
// a policy on the local mesh is refused: it would have the burster write to
// any address its author names.
func TestLocalMeshOnlyFromAFile(t *testing.T) {
	p := &v1alpha1.BurstPolicy{Spec: v1alpha1.BurstPolicySpec{
		Route:        v1alpha1.Route{LocalMesh: &v1alpha1.LocalMesh{AdminURL: "http://10.0.0.1:9901"}},
		Destinations: []v1alpha1.Destination{{Name: "primary"}, {Name: "burst"}},
		Measurement:  v1alpha1.Measurement{Scrape: &v1alpha1.ScrapeMeasurement{URL: "http://127.0.0.1:1/metrics", Metric: "m"}},
		Strategy:     v1alpha1.Strategy{Type: v1alpha1.StrategySwitch},
	}}
	p.Name = "demo"
	log := slog.New(slog.DiscardHandler)
	_, err := New(context.Background(), p, Deps{Dynamic: fake.NewSimpleDynamicClient(runtime.NewScheme()),
		Metrics: prometheus.NewRegistry(), Log: log})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("with the Kubernetes API: %v, want ErrUnsupported", err)
	}
	r, err := New(context.Background(), p, Deps{Metrics: prometheus.NewRegistry(), Log: log})
	if err != nil {
		t.Fatalf("from a file: %v", err)
	}
	r.Stop()
}

// TestThreeDestinationsMeasurements: beyond two destinations, a policy
// asking for a measurement that knows primary and burst alone (traffic,
// budget, security) is refused, naming the fields to unset; with the rate,
// and each destination's latency, it runs.
func TestThreeDestinationsMeasurements(t *testing.T) {
	three := func(m v1alpha1.Measurement) *v1alpha1.BurstPolicy {
		p := &v1alpha1.BurstPolicy{Spec: v1alpha1.BurstPolicySpec{
			Route: v1alpha1.Route{VirtualService: &v1alpha1.ObjectName{Name: "worker"}},
			Destinations: []v1alpha1.Destination{{Name: "primary", Subset: "primary"}, {Name: "burst", Subset: "burst"},
				{Name: "burst-2", Subset: "burst-2"}},
			Measurement: m,
			Strategy:    v1alpha1.Strategy{Type: v1alpha1.StrategySpillover, CapacityRPS: 20},
		}}
		p.Name = "three"
		return p
	}
	deps := func() Deps {
		return Deps{Dynamic: fake.NewSimpleDynamicClient(runtime.NewScheme()), Metrics: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler)}
	}
	tests := []struct {
		name string
		m    v1alpha1.Measurement
		want string // "" when it runs
	}{
		{"the rate from Prometheus", v1alpha1.Measurement{Prometheus: &v1alpha1.PrometheusMeasurement{URL: "http://127.0.0.1:1"}}, ""},
		{"the rate from a scrape", v1alpha1.Measurement{Scrape: &v1alpha1.ScrapeMeasurement{URL: "http://127.0.0.1:1/metrics", Metric: "m"}}, ""},
		{"each destination's traffic", v1alpha1.Measurement{Prometheus: &v1alpha1.PrometheusMeasurement{URL: "http://127.0.0.1:1",
			DestinationsQuery: "q", SecurityQuery: "q"}}, "unset measurement.prometheus.destinationsQuery, measurement.prometheus.securityQuery"},
		{"a budget", v1alpha1.Measurement{Prometheus: &v1alpha1.PrometheusMeasurement{URL: "http://127.0.0.1:1",
			LatencyQuery: "q", BudgetQuery: "q"}}, "unset measurement.prometheus.budgetQuery"},
		{"each destination's latency from Prometheus", v1alpha1.Measurement{Prometheus: &v1alpha1.PrometheusMeasurement{URL: "http://127.0.0.1:1",
			LatencyQuery: "q"}}, ""},
		{"each destination's latency from a scrape", v1alpha1.Measurement{Scrape: &v1alpha1.ScrapeMeasurement{URL: "http://127.0.0.1:1/metrics", Metric: "m",
			DestinationLabel: "destination", LatencyMetric: "h"}}, ""},
		{"a scrape by destination without the latency", v1alpha1.Measurement{Scrape: &v1alpha1.ScrapeMeasurement{URL: "http://127.0.0.1:1/metrics", Metric: "m",
			DestinationLabel: "destination"}}, "unset measurement.scrape.destinationLabel (it serves the latency alone: set latencyMetric)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(context.Background(), three(tt.m), deps())
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				r.Stop()
				return
			}
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%v, want ErrUnsupported saying %q", err, tt.want)
			}
		})
	}
}

// TestReadinessFromTheRouter: the local mesh tells the readiness of every
// destination after primary (readiness.fromRouter), burst-2's too; on a
// Kubernetes route fromRouter is refused, naming the destination.
func TestReadinessFromTheRouter(t *testing.T) {
	mesh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/endpoints":
			_, _ = w.Write([]byte(`{"primary":1,"burst":0,"burst-2":1}`))
		case "/weights":
			_, _ = w.Write([]byte(`{"primary":100,"burst":0,"burst-2":0}`))
		case "/metrics":
			_, _ = w.Write([]byte("m 0\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer mesh.Close()
	fromRouter := &v1alpha1.Readiness{FromRouter: true}
	p := &v1alpha1.BurstPolicy{Spec: v1alpha1.BurstPolicySpec{
		Route: v1alpha1.Route{LocalMesh: &v1alpha1.LocalMesh{AdminURL: mesh.URL}},
		Destinations: []v1alpha1.Destination{{Name: "primary"}, {Name: "burst", Readiness: fromRouter, CapacityRPS: new(20.0)},
			{Name: "burst-2", Readiness: fromRouter}},
		Measurement: v1alpha1.Measurement{Scrape: &v1alpha1.ScrapeMeasurement{URL: mesh.URL + "/metrics", Metric: "m"}},
		Strategy:    v1alpha1.Strategy{Type: v1alpha1.StrategySpillover, CapacityRPS: 20},
	}}
	p.Name = "demo"
	r, err := New(context.Background(), p, Deps{Metrics: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	r.Step(context.Background(), time.Now())
	st := r.Status(v1alpha1.BurstPolicyStatus{}, 1)
	for name, want := range map[string]int32{"burst": 0, "burst-2": 1} {
		if d := st.Destination(name); d == nil || d.ReadyEndpoints == nil || *d.ReadyEndpoints != want {
			t.Errorf("%s's status %+v, want %d ready endpoints from the mesh", name, d, want)
		}
	}

	p.Spec.Route = v1alpha1.Route{VirtualService: &v1alpha1.ObjectName{Name: "worker"}}
	for i := range p.Spec.Destinations {
		p.Spec.Destinations[i].Subset = p.Spec.Destinations[i].Name
	}
	_, err = New(context.Background(), p, Deps{Dynamic: fake.NewSimpleDynamicClient(runtime.NewScheme()), Metrics: prometheus.NewRegistry(),
		Log: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "burst-2: only the local mesh tells its backends' readiness") {
		t.Fatalf("fromRouter on a VirtualService: %v", err)
	}
}
