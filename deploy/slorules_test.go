package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/cloudburst-demo/cloudburst/deploy/slorules"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
)

// TestSLORules: the worker's SLO as code. The rules the Prometheus
// Deployment loads are those generated from the objective of the slo
// overlay's worker BurstPolicy; promtool accepts them, and its unit tests on
// series shaped like Istio's (deploy/prometheus/slo-rules.test.yml) hold: a
// fast burn pages, a slow one only files a ticket, a cluster below the
// traffic floor fires nothing, 5xx answers are never good.
func TestSLORules(t *testing.T) {
	promtool := component.Require(t, promserver.Install, "promtool")
	settings, err := slorules.FromPolicy(workerPolicy(t, render(t, "k8s/overlays/slo/primary")))
	if err != nil {
		t.Fatal(err)
	}
	want, err := slorules.Render(settings)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "slo-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(file) != string(want) {
		t.Fatal("deploy/prometheus/slo-rules.yml is not what the slo overlay's settings give: run make slo-rules")
	}

	// The burster reads the burn rates of 5m, 1h and 3d by these names
	// (its measurement.prometheus.budgetQuery's default): they must be recorded.
	for _, w := range []string{"5m", "1h", "3d"} {
		if !strings.Contains(string(want), "record: cloudburst:worker_burn:rate"+w+"\n") {
			t.Errorf("the rules record no cloudburst:worker_burn:rate%s, which the burster's budget reads", w)
		}
	}

	// What the Deployment loads: the ConfigMap mounted at /etc/prometheus,
	// whose prometheus.yml names the rules file it carries.
	objs := render(t, "deploy/prometheus")
	var loaded, config string
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && strings.HasPrefix(o.GetName(), "prometheus") {
			loaded, config = str(o.Object, "data", "slo-rules.yml"), str(o.Object, "data", "prometheus.yml")
		}
	}
	var cfg struct {
		RuleFiles []string `json:"rule_files"`
	}
	if err := yaml.Unmarshal([]byte(config), &cfg); err != nil {
		t.Fatal(err)
	}
	pod := podSpec(t, find(objs, "Deployment", "prometheus")[0])
	var mountedAt string
	for _, m := range pod.Containers[0].VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil && strings.HasPrefix(v.ConfigMap.Name, "prometheus") {
				mountedAt = m.MountPath
			}
		}
	}
	if loaded != string(want) || mountedAt == "" || !slices.Contains(cfg.RuleFiles, filepath.Join(mountedAt, "slo-rules.yml")) {
		t.Fatalf("the Deployment does not load the rules: carried %v, mounted at %q, rule_files %v", loaded == string(want), mountedAt, cfg.RuleFiles)
	}

	// promtool, on the rules as loaded.
	dir := t.TempDir()
	test, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "slo-rules.test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"slo-rules.yml": []byte(loaded), "slo-rules.test.yml": test} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"check", "rules", "slo-rules.yml"}, {"test", "rules", "slo-rules.test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestSLORulesRefuse: settings the burster would refuse give no rules.
func TestSLORulesRefuse(t *testing.T) {
	base := slorules.Settings{LatencyMS: 250, Target: 0.99, MinRequests: 20, Buckets: []float64{100, 250, 500}}
	for name, mutate := range map[string]func(*slorules.Settings){
		"objective between buckets": func(s *slorules.Settings) { s.LatencyMS = 200 },
		"target a percentage":       func(s *slorules.Settings) { s.Target = 99 },
		"no traffic floor":          func(s *slorules.Settings) { s.MinRequests = 0 },
	} {
		s := base
		mutate(&s)
		if _, err := slorules.Render(s); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
	if _, err := slorules.Render(base); err != nil {
		t.Fatal(err)
	}
}
