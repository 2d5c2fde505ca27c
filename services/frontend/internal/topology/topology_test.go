package topology

import (
	"testing"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
)

func f(v float64) *float64 { return &v }

func TestOf(t *testing.T) {
	weights := []v1alpha1.DestinationWeight{{Name: "primary", Weight: 40}, {Name: "burst", Weight: 60}}
	lat := &pageapi.Latency{Primary: pageapi.ClusterLatency{P99MS: f(3)}, Burst: pageapi.ClusterLatency{P99MS: f(7)}}
	// policy is a policy on route with the status st.
	policy := func(route v1alpha1.Route, st v1alpha1.BurstPolicyStatus) *v1alpha1.BurstPolicy {
		return &v1alpha1.BurstPolicy{Spec: v1alpha1.BurstPolicySpec{Route: route,
			Destinations: []v1alpha1.Destination{{Name: "primary"}, {Name: "burst"}},
			Strategy:     v1alpha1.Strategy{SLO: &v1alpha1.SLO{Window: "10s"}}}, Status: st}
	}
	local := v1alpha1.Route{LocalMesh: &v1alpha1.LocalMesh{AdminURL: "http://127.0.0.1:9"}}
	istio := v1alpha1.Route{VirtualService: &v1alpha1.ObjectName{Name: "worker"}}
	judged := []v1alpha1.DestinationStatus{
		{Name: "primary", Requests: f(160), SLI: f(0.995), Burn: f(0.5), Security: "mutual_tls", Budget: &v1alpha1.ErrorBudget{Left: f(0.8)}},
		{Name: "burst", Requests: f(240), SLI: f(0.95), Burn: f(5), Security: "none", Budget: &v1alpha1.ErrorBudget{Left: f(-0.2)}},
	}
	tests := []struct {
		name      string
		b         *v1alpha1.BurstPolicy
		check     func(*pageapi.Topology) bool
		mesh, sec [2]string
		objective [2]pageapi.Objective
	}{
		{"no burster", nil, func(t *pageapi.Topology) bool { return t == nil }, [2]string{}, [2]string{}, [2]pageapi.Objective{}},
		{"demo: the mesh's destinations", policy(local, v1alpha1.BurstPolicyStatus{Weights: weights,
			Destinations: []v1alpha1.DestinationStatus{{Name: "primary", RateRPS: f(16), FailedRPS: f(1)}, {Name: "burst", RateRPS: f(24), FailedRPS: f(0)}}}),
			func(t *pageapi.Topology) bool {
				return *t.Primary.RPS == 16 && *t.Primary.ErrorsRPS == 1 && *t.Primary.Share == 40 && *t.Burst.Share == 60 &&
					*t.Primary.Weight == 40 && *t.Burst.Weight == 60 && *t.Primary.P99MS == 3 && t.Primary.SLI == nil
			},
			[2]string{"the local mesh"}, [2]string{loopback, loopback}, [2]pageapi.Objective{pageapi.ObjectiveUnknown, pageapi.ObjectiveUnknown}},
		{"clusters: the SLO window's requests, security from the mesh", policy(istio, v1alpha1.BurstPolicyStatus{Weights: weights,
			Destinations: judged}),
			func(t *pageapi.Topology) bool {
				return *t.Primary.RPS == 16 && *t.Burst.RPS == 24 && t.Primary.ErrorsRPS == nil && *t.Burst.Share == 60 &&
					*t.Primary.BudgetLeft == 0.8 && *t.Burst.Burn == 5
			},
			[2]string{"Istio"}, [2]string{"mutual TLS", "plaintext"}, [2]pageapi.Objective{pageapi.ObjectiveMet, pageapi.ObjectiveBreached}},
		{"nothing measured: nothing guessed", policy(v1alpha1.Route{HTTPRoute: &v1alpha1.ObjectName{Name: "worker"}}, v1alpha1.BurstPolicyStatus{}),
			func(t *pageapi.Topology) bool {
				return t.Primary.RPS == nil && t.Primary.Share == nil && t.Primary.Weight == nil && t.Primary.P99MS != nil
			},
			[2]string{"Istio"}, [2]string{"not measured", "not measured"}, [2]pageapi.Objective{pageapi.ObjectiveUnknown, pageapi.ObjectiveUnknown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Of(tt.b, lat)
			if !tt.check(got) {
				t.Fatalf("topology %+v", got)
			}
			if got == nil {
				return
			}
			if got.Mesh != tt.mesh[0] || got.Primary.Security != tt.sec[0] || got.Burst.Security != tt.sec[1] ||
				got.Primary.Objective != tt.objective[0] || got.Burst.Objective != tt.objective[1] {
				t.Fatalf("mesh %q, security %q/%q, objective %q/%q", got.Mesh, got.Primary.Security, got.Burst.Security,
					got.Primary.Objective, got.Burst.Objective)
			}
		})
	}
	// Burning: spending faster than allowed with budget left.
	burning := []v1alpha1.DestinationStatus{judged[0], judged[1]}
	burning[1].Budget = nil
	if got := Of(policy(istio, v1alpha1.BurstPolicyStatus{Destinations: burning}), nil); got.Burst.Objective != pageapi.ObjectiveBurning {
		t.Fatalf("burst burning at 5×: %q", got.Burst.Objective)
	}
}
