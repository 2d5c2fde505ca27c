package v1alpha1

import (
	"encoding/json"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestStatusJSON pins the status' shape as every client reads it: the
// CRD's status, the burster's GET /api/status and the page. Times are
// RFC 3339, a change's to the microsecond as lastChangeTime.
func TestStatusJSON(t *testing.T) {
	rps, sli, burn, left, capacity := 25.5, 0.95, 5.0, 0.8, 16.0
	ready, raised, reachable := int32(2), int32(3), true
	at := metav1.NewMicroTime(time.Date(2026, 11, 22, 10, 0, 0, 250000000, time.UTC))
	weights := []DestinationWeight{{Name: "primary", Weight: 40}, {Name: "burst", Weight: 60}}
	for _, tt := range []struct {
		name string
		in   BurstPolicyStatus
		want string
	}{
		{"nothing known yet", BurstPolicyStatus{}, `{}`},
		{"holding home at its objective", BurstPolicyStatus{
			ObservedGeneration: 2, Route: "VirtualService/worker", Weights: weights, Split: SplitOf(weights), RateRPS: &rps,
			Destinations: []DestinationStatus{
				{Name: "primary", RateRPS: &rps, ReadyEndpoints: &ready, SLI: &sli, Burn: &burn, Requests: &rps, Security: "mutual_tls",
					Budget: &ErrorBudget{Burns: []BurnRate{{Window: "5m", Rate: 5}}, Left: &left}},
				{Name: "burst", Failing: true, Reachable: &reachable, PrescaledTo: &raised},
			},
			BudgetPeriod: "3d", LearnedCapacityRPS: &capacity, LastChangeTime: &at,
			Changes: []Change{{Time: at, Weights: weights, Reason: ChangeWeightsChanged, RateRPS: &rps, SLI: &sli, Burn: &burn,
				Message: "primary over its objective"}},
		}, `{"observedGeneration":2,"route":"VirtualService/worker",` +
			`"weights":[{"name":"primary","weight":40},{"name":"burst","weight":60}],"split":"40/60","rateRps":25.5,` +
			`"destinations":[{"name":"primary","rateRps":25.5,"readyEndpoints":2,"sli":0.95,"burn":5,"requests":25.5,"security":"mutual_tls",` +
			`"budget":{"burns":[{"window":"5m","rate":5}],"left":0.8}},` +
			`{"name":"burst","failing":true,"reachable":true,"prescaledTo":3}],` +
			`"budgetPeriod":"3d","learnedCapacityRps":16,"lastChangeTime":"2026-11-22T10:00:00.250000Z",` +
			`"changes":[{"time":"2026-11-22T10:00:00.250000Z","weights":[{"name":"primary","weight":40},{"name":"burst","weight":60}],` +
			`"reason":"WeightsChanged","rateRps":25.5,"sli":0.95,"burn":5,"message":"primary over its objective"}]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Fatalf("JSON\n got %s\nwant %s", b, tt.want)
			}
			var back BurstPolicyStatus
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if again, _ := json.Marshal(back); string(again) != tt.want {
				t.Fatalf("a round trip changed the status: %s", again)
			}
		})
	}
}
