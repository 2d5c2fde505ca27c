package topology

import (
	"testing"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

func f(v float64) *float64 { return &v }

func TestOf(t *testing.T) {
	weights := split.Split{Primary: 40, Burst: 60}
	lat := &pageapi.Latency{Primary: pageapi.ClusterLatency{P99MS: f(3)}, Burst: pageapi.ClusterLatency{P99MS: f(7)}}
	slo := &bursterapi.SLO{WindowSeconds: 10,
		Primary: &bursterapi.Judgement{Requests: 160, SLI: f(0.995), Burn: f(0.5)},
		Burst:   &bursterapi.Judgement{Requests: 240, SLI: f(0.95), Burn: f(5)},
		Budget:  &bursterapi.Budgets{Period: "3d", Primary: bursterapi.ErrorBudget{Left: f(0.8)}, Burst: bursterapi.ErrorBudget{Left: f(-0.2)}}}
	tests := []struct {
		name      string
		b         *bursterapi.Status
		check     func(*pageapi.Topology) bool
		mesh, sec [2]string
		objective [2]pageapi.Objective
	}{
		{"no burster", nil, func(t *pageapi.Topology) bool { return t == nil }, [2]string{}, [2]string{}, [2]pageapi.Objective{}},
		{"demo: the mesh's destinations", &bursterapi.Status{Router: "localmesh", Weights: &weights,
			Destinations: &bursterapi.Destinations{Primary: bursterapi.Destination{RPS: 16, FailedRPS: 1}, Burst: bursterapi.Destination{RPS: 24}}},
			func(t *pageapi.Topology) bool {
				return *t.Primary.RPS == 16 && *t.Primary.ErrorsRPS == 1 && *t.Primary.Share == 40 && *t.Burst.Share == 60 &&
					*t.Primary.Weight == 40 && *t.Burst.Weight == 60 && *t.Primary.P99MS == 3 && t.Primary.SLI == nil
			},
			[2]string{"the local mesh"}, [2]string{loopback, loopback}, [2]pageapi.Objective{pageapi.ObjectiveUnknown, pageapi.ObjectiveUnknown}},
		{"clusters: the SLO window's requests, security from the mesh", &bursterapi.Status{Router: "istio", Weights: &weights, SLO: slo,
			Security: &bursterapi.Security{Primary: "mutual_tls", Burst: "none"}},
			func(t *pageapi.Topology) bool {
				return *t.Primary.RPS == 16 && *t.Burst.RPS == 24 && t.Primary.ErrorsRPS == nil && *t.Burst.Share == 60 &&
					*t.Primary.BudgetLeft == 0.8 && *t.Burst.Burn == 5
			},
			[2]string{"Istio"}, [2]string{"mutual TLS", "plaintext"}, [2]pageapi.Objective{pageapi.ObjectiveMet, pageapi.ObjectiveBreached}},
		{"nothing measured: nothing guessed", &bursterapi.Status{Router: "gatewayapi"},
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
	burning := *slo
	burning.Budget = nil
	if got := Of(&bursterapi.Status{SLO: &burning}, nil); got.Burst.Objective != pageapi.ObjectiveBurning {
		t.Fatalf("burst burning at 5×: %q", got.Burst.Objective)
	}
}
