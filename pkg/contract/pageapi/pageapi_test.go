package pageapi_test

import (
	"encoding/json"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
)

// TestJSON pins the shapes the page's script reads and writes.
func TestJSON(t *testing.T) {
	rps := 25
	p50, p99, within := 1.5, 300.0, 0.98
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"hello", pageapi.Frame{Type: pageapi.Hello, MaxRPS: 100, Status: &pageapi.Status{Generator: pageapi.Generator{TargetRPS: 5}}},
			`{"type":"hello","status":{"targetRps":5,"sentRps":0,"achievedRps":0,"inFlight":0,"sent":0,"succeeded":0,"failed":0,"dropped":0},"maxRps":100}`},
		{"update", pageapi.Frame{Type: pageapi.Update,
			Hashes:   []pageapi.Hash{{Text: "abc", Cluster: hashmsg.Primary}, {Text: "bursty-abc", Cluster: hashmsg.Burst}},
			Counts:   pageapi.Counts{hashmsg.Primary: 1, hashmsg.Burst: 1},
			Received: pageapi.Rates{hashmsg.Primary: 0.5, hashmsg.Burst: 1.5, "burst-2": 0},
			Status: &pageapi.Status{
				Generator: pageapi.Generator{TargetRPS: 25, SentRPS: 25, AchievedRPS: 24.5, InFlight: 2, Sent: 100, Succeeded: 98, Failed: 1, Dropped: 1, LastError: "worker answered 503"},
				Burster: &v1alpha1.BurstPolicy{ObjectMeta: metav1.ObjectMeta{Name: "worker"},
					Spec:   v1alpha1.BurstPolicySpec{Strategy: v1alpha1.Strategy{Type: v1alpha1.StrategySwitch, HighRPS: 15}},
					Status: v1alpha1.BurstPolicyStatus{Weights: []v1alpha1.DestinationWeight{{Name: "primary", Weight: 0}, {Name: "burst", Weight: 100}}}},
			},
			At: 1795335482000},
			`{"type":"update","hashes":[{"text":"abc","cluster":"primary"},{"text":"bursty-abc","cluster":"burst"}],` +
				`"counts":{"burst":1,"primary":1},"received":{"burst":1.5,"burst-2":0,"primary":0.5},` +
				`"status":{"targetRps":25,"sentRps":25,"achievedRps":24.5,"inFlight":2,"sent":100,"succeeded":98,"failed":1,"dropped":1,"lastError":"worker answered 503",` +
				`"burster":{"metadata":{"name":"worker"},"spec":{"route":{},"destinations":null,"measurement":{},"strategy":{"type":"switch","highRps":15}},` +
				`"status":{"weights":[{"name":"primary","weight":0},{"name":"burst","weight":100}]}}},"at":1795335482000}`},
		{"burster unreadable", pageapi.Status{Generator: pageapi.Generator{TargetRPS: 5}, BursterProblem: "the burster answered 503 Service Unavailable"},
			`{"targetRps":5,"sentRps":0,"achievedRps":0,"inFlight":0,"sent":0,"succeeded":0,"failed":0,"dropped":0,"bursterProblem":"the burster answered 503 Service Unavailable"}`},
		{"latency", pageapi.Status{Generator: pageapi.Generator{TargetRPS: 5}, Latency: &pageapi.Latency{ObjectiveMS: 250, WindowSeconds: 10, FailedAsMS: 2000,
			Clusters:     []pageapi.ClusterLatency{{Cluster: hashmsg.Primary, Requests: 50, Failed: 1, P50MS: &p50, P99MS: &p99, WithinObjective: &within}, {Cluster: hashmsg.Burst}},
			Unattributed: pageapi.ClusterLatency{Requests: 2, Failed: 2}}},
			`{"targetRps":5,"sentRps":0,"achievedRps":0,"inFlight":0,"sent":0,"succeeded":0,"failed":0,"dropped":0,` +
				`"latency":{"objectiveMs":250,"windowSeconds":10,"failedAsMs":2000,"clusters":[{"cluster":"primary","requests":50,"failed":1,"p50Ms":1.5,"p99Ms":300,"withinObjective":0.98},` +
				`{"cluster":"burst","requests":0,"failed":0}],"unattributed":{"requests":2,"failed":2}}}`},
		{"topology", pageapi.Topology{Mesh: "Istio", Edges: []pageapi.Edge{
			{Cluster: hashmsg.Primary, RPS: &p50, Weight: &rps, Share: &p99, Security: "mutual TLS", Objective: pageapi.ObjectiveMet},
			{Cluster: hashmsg.Burst, Security: "not measured", Objective: pageapi.ObjectiveUnknown}}},
			`{"mesh":"Istio","edges":[{"cluster":"primary","rps":1.5,"weight":25,"share":300,"security":"mutual TLS","objective":"met"},` +
				`{"cluster":"burst","security":"not measured","objective":"unknown"}]}`},
		{"error", pageapi.Frame{Type: pageapi.Error, Message: "unknown command"}, `{"type":"error","message":"unknown command"}`},
		{"command", pageapi.Command{Type: pageapi.SetRate, RPS: &rps}, `{"type":"setRate","rps":25}`},
		{"rate", pageapi.Rate{RPS: 25}, `{"rps":25}`},
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
		})
	}
}

// TestOf: a cluster's latency and edge are found by name, and a cluster
// not known is nil.
func TestOf(t *testing.T) {
	l := pageapi.Latency{Clusters: []pageapi.ClusterLatency{{Cluster: hashmsg.Primary, Requests: 1}, {Cluster: "burst-2", Requests: 3}}}
	if c := l.Of("burst-2"); c == nil || c.Requests != 3 || l.Of(hashmsg.Burst) != nil {
		t.Fatalf("Latency.Of: %+v, %+v", c, l.Of(hashmsg.Burst))
	}
	top := pageapi.Topology{Edges: []pageapi.Edge{{Cluster: hashmsg.Primary}, {Cluster: hashmsg.Burst, Security: "plaintext"}}}
	if e := top.Of(hashmsg.Burst); e == nil || e.Security != "plaintext" || top.Of("burst-2") != nil {
		t.Fatalf("Topology.Of: %+v, %+v", e, top.Of("burst-2"))
	}
}
