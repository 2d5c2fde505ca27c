package topology

import (
	"testing"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
)

func f(v float64) *float64 { return &v }

func TestOf(t *testing.T) {
	weights := []v1alpha1.DestinationWeight{{Name: "primary", Weight: 40}, {Name: "burst", Weight: 60}}
	lat := &pageapi.Latency{Clusters: []pageapi.ClusterLatency{{Cluster: "primary", P99MS: f(3)}, {Cluster: "burst", P99MS: f(7)}}}
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
				return *t.Edges[0].RPS == 16 && *t.Edges[0].ErrorsRPS == 1 && *t.Edges[0].Share == 40 && *t.Edges[1].Share == 60 &&
					*t.Edges[0].Weight == 40 && *t.Edges[1].Weight == 60 && *t.Edges[0].P99MS == 3 && t.Edges[0].SLI == nil
			},
			[2]string{"the local mesh"}, [2]string{loopback, loopback}, [2]pageapi.Objective{pageapi.ObjectiveUnknown, pageapi.ObjectiveUnknown}},
		{"clusters: the SLO window's requests, security from the mesh", policy(istio, v1alpha1.BurstPolicyStatus{Weights: weights,
			Destinations: judged}),
			func(t *pageapi.Topology) bool {
				return *t.Edges[0].RPS == 16 && *t.Edges[1].RPS == 24 && t.Edges[0].ErrorsRPS == nil && *t.Edges[1].Share == 60 &&
					*t.Edges[0].BudgetLeft == 0.8 && *t.Edges[1].Burn == 5
			},
			[2]string{"Istio"}, [2]string{"mutual TLS", "plaintext"}, [2]pageapi.Objective{pageapi.ObjectiveMet, pageapi.ObjectiveBreached}},
		{"nothing measured: nothing guessed", policy(v1alpha1.Route{HTTPRoute: &v1alpha1.ObjectName{Name: "worker"}}, v1alpha1.BurstPolicyStatus{}),
			func(t *pageapi.Topology) bool {
				return t.Edges[0].RPS == nil && t.Edges[0].Share == nil && t.Edges[0].Weight == nil && t.Edges[0].P99MS != nil
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
			if got.Mesh != tt.mesh[0] || got.Edges[0].Security != tt.sec[0] || got.Edges[1].Security != tt.sec[1] ||
				got.Edges[0].Objective != tt.objective[0] || got.Edges[1].Objective != tt.objective[1] {
				t.Fatalf("mesh %q, security %q/%q, objective %q/%q", got.Mesh, got.Edges[0].Security, got.Edges[1].Security,
					got.Edges[0].Objective, got.Edges[1].Objective)
			}
		})
	}
	// Burning: spending faster than allowed with budget left.
	burning := []v1alpha1.DestinationStatus{judged[0], judged[1]}
	burning[1].Budget = nil
	if got := Of(policy(istio, v1alpha1.BurstPolicyStatus{Destinations: burning}), nil); got.Edges[1].Objective != pageapi.ObjectiveBurning {
		t.Fatalf("burst burning at 5×: %q", got.Edges[1].Objective)
	}
}

// TestThreeDestinations: an edge per destination, in order, each named for
// its cluster with its weight; with no rate measured per destination (the
// burster measures no destination's traffic beyond two), none is guessed.
func TestThreeDestinations(t *testing.T) {
	b := &v1alpha1.BurstPolicy{Spec: v1alpha1.BurstPolicySpec{Route: v1alpha1.Route{LocalMesh: &v1alpha1.LocalMesh{AdminURL: "http://127.0.0.1:9"}},
		Destinations: []v1alpha1.Destination{{Name: "primary"}, {Name: "burst"}, {Name: "burst-2"}}},
		Status: v1alpha1.BurstPolicyStatus{Weights: []v1alpha1.DestinationWeight{{Name: "primary", Weight: 40}, {Name: "burst", Weight: 40}, {Name: "burst-2", Weight: 20}},
			Destinations: []v1alpha1.DestinationStatus{{Name: "primary"}, {Name: "burst"}, {Name: "burst-2"}}}}
	lat := &pageapi.Latency{Clusters: []pageapi.ClusterLatency{{Cluster: "primary"}, {Cluster: "burst"}, {Cluster: "burst-2", P99MS: f(12)}}}
	got := Of(b, lat)
	if len(got.Edges) != 3 {
		t.Fatalf("edges %+v", got.Edges)
	}
	for i, want := range []struct {
		name   string
		weight int
	}{{"primary", 40}, {"burst", 40}, {"burst-2", 20}} {
		e := got.Edges[i]
		if string(e.Cluster) != want.name || e.Weight == nil || *e.Weight != want.weight || e.RPS != nil || e.Share != nil || e.Security != loopback {
			t.Errorf("edge %d: %+v, want %s at %d%%", i, e, want.name, want.weight)
		}
	}
	if p := got.Of("burst-2").P99MS; p == nil || *p != 12 {
		t.Errorf("burst-2's p99 %v, want the load generator's 12 ms", p)
	}
	// One destination's rate missing: no share is computed for any.
	b.Status.Destinations = []v1alpha1.DestinationStatus{{Name: "primary", RateRPS: f(20)}, {Name: "burst", RateRPS: f(20)}, {Name: "burst-2"}}
	if got := Of(b, nil); got.Edges[0].RPS != nil || got.Edges[0].Share != nil {
		t.Errorf("with burst-2's rate unmeasured: primary %+v", got.Edges[0])
	}
}
