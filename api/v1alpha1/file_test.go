package v1alpha1

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const demoPolicy = `apiVersion: cloudburst.dev/v1alpha1
kind: BurstPolicy
metadata:
  name: worker
spec:
  route:
    localMesh:
      adminURL: http://127.0.0.1:9901
  destinations:
  - name: primary
  - name: burst
    readiness:
      fromRouter: true
  measurement:
    scrape:
      url: http://127.0.0.1:9901/metrics
      metric: localmesh_requests_total
      destinationLabel: destination
  strategy:
    type: switch
`

func TestReadFile(t *testing.T) {
	tests := []struct {
		name, yaml string
		err        string // "" for none; else what the error names
	}{
		{"the demo's", demoPolicy, ""},
		{"an unknown field", strings.Replace(demoPolicy, "type: switch", "type: switch\n    hihgRps: 30", 1), `unknown field "hihgRps"`},
		{"another kind", strings.Replace(demoPolicy, "kind: BurstPolicy", "kind: Canary", 1), "not a cloudburst.dev/v1alpha1 BurstPolicy"},
		{"a bad value, named", strings.Replace(demoPolicy, "type: switch", "type: switch\n    lowRps: 20", 1), "spec.strategy.lowRps"},
		{"not YAML", "{", "decoding the policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "policy.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := ReadFile(path)
			switch {
			case tt.err == "" && err != nil:
				t.Fatal(err)
			case tt.err == "" && (p.Spec.Interval != DefaultInterval || p.Spec.Strategy.SLO == nil):
				t.Fatalf("defaults not filled in: %+v", p.Spec)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("want an error naming %q, got %v", tt.err, err)
			}
		})
	}
}
