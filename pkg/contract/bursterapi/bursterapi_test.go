package bursterapi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// TestStatusJSON pins the shape the frontend and its page read.
func TestStatusJSON(t *testing.T) {
	rps, sli, burn := 25.5, 0.95, 5.0
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   bursterapi.Status
		want string
	}{
		{"nothing known yet", bursterapi.Status{Strategy: "switch", HighRPS: 15, LowRPS: 10, Changes: []bursterapi.Change{}},
			`{"leader":false,"strategy":"switch","highRps":15,"lowRps":10,"changes":[]}`},
		{"router hung", bursterapi.Status{RouterError: "timed out", Leader: true, Strategy: "switch", HighRPS: 15, LowRPS: 10, Changes: []bursterapi.Change{}},
			`{"routerError":"timed out","leader":true,"strategy":"switch","highRps":15,"lowRps":10,"changes":[]}`},
		{"bursting", bursterapi.Status{
			Weights: &split.AllBurst, ObservedRPS: &rps, Leader: true, Strategy: "switch", HighRPS: 15, LowRPS: 10,
			Changes: []bursterapi.Change{{At: at, From: split.AllPrimary, To: split.AllBurst, RPS: &rps,
				Reason: "25.5 req/s above the high threshold 15", Kind: bursterapi.WeightsChanged}},
		}, `{"weights":{"primary":0,"burst":100},"observedRps":25.5,"leader":true,"strategy":"switch","highRps":15,"lowRps":10,` +
			`"changes":[{"at":"2026-11-22T10:00:00Z","from":{"primary":100,"burst":0},"to":{"primary":0,"burst":100},"rps":25.5,` +
			`"reason":"25.5 req/s above the high threshold 15","kind":"WeightsChanged"}]}`},
		{"a failing burst", bursterapi.Status{
			Weights: &split.AllBurst, ObservedRPS: &rps, Leader: true, Strategy: "switch", HighRPS: 15, LowRPS: 10,
			Destinations: &bursterapi.Destinations{Burst: bursterapi.Destination{RPS: 25.5, FailedRPS: 25.5, Failing: true}},
			Changes:      []bursterapi.Change{},
		}, `{"weights":{"primary":0,"burst":100},"observedRps":25.5,` +
			`"destinations":{"primary":{"rps":0,"failedRps":0,"failing":false},"burst":{"rps":25.5,"failedRps":25.5,"failing":true}},` +
			`"leader":true,"strategy":"switch","highRps":15,"lowRps":10,"changes":[]}`},
		{"holding primary at its objective", bursterapi.Status{
			Weights: &split.Split{Primary: 40, Burst: 60}, ObservedRPS: &rps, Leader: true, Strategy: "slo",
			SLO: &bursterapi.SLO{LatencyMS: 250, Target: 0.99, WindowSeconds: 5,
				Primary: &bursterapi.Judgement{Requests: 80, SLI: &sli, Burn: &burn}, Burst: &bursterapi.Judgement{Requests: 10},
				LearnedCapacityRPS: 16},
			Changes: []bursterapi.Change{{At: at, From: split.WithBurst(40), To: split.WithBurst(60), RPS: &rps,
				Reason: "primary over its objective", Kind: bursterapi.WeightsChanged, SLI: &sli, Burn: &burn}},
		}, `{"weights":{"primary":40,"burst":60},"observedRps":25.5,` +
			`"slo":{"latencyMs":250,"target":0.99,"windowSeconds":5,"primary":{"requests":80,"sli":0.95,"burn":5},"burst":{"requests":10},"learnedCapacityRps":16},` +
			`"leader":true,"strategy":"slo","highRps":0,"lowRps":0,` +
			`"changes":[{"at":"2026-11-22T10:00:00Z","from":{"primary":60,"burst":40},"to":{"primary":40,"burst":60},"rps":25.5,` +
			`"reason":"primary over its objective","kind":"WeightsChanged","sli":0.95,"burn":5}]}`},
		{"the mesh's view for the page", bursterapi.Status{Router: "istio", Strategy: "switch", HighRPS: 15, LowRPS: 10, Changes: []bursterapi.Change{},
			Security: &bursterapi.Security{Primary: "mutual_tls", Burst: "mutual_tls"},
			SLO: &bursterapi.SLO{LatencyMS: 250, Target: 0.99, WindowSeconds: 30,
				Budget:        &bursterapi.Budgets{Period: "3d", Primary: bursterapi.ErrorBudget{Burns: []bursterapi.Burn{{Window: "5m", Rate: 5}}, Left: &sli}},
				BudgetProblem: ""}},
			`{"slo":{"latencyMs":250,"target":0.99,"windowSeconds":30,"learnedCapacityRps":0,` +
				`"budget":{"period":"3d","primary":{"burns":[{"window":"5m","rate":5}],"left":0.95},"burst":{}}},` +
				`"security":{"primary":"mutual_tls","burst":"mutual_tls"},"router":"istio",` +
				`"leader":false,"strategy":"switch","highRps":15,"lowRps":10,"changes":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Fatalf("JSON\n got %s\nwant %s", b, tt.want)
			}
			var back bursterapi.Status
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			again, _ := json.Marshal(back)
			if string(again) != tt.want {
				t.Fatalf("round trip changed the status: %s", again)
			}
		})
	}
}
