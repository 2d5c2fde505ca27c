package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudburst-demo/cloudburst/testkit/kube"
)

// TestVersionsAgree: the API server the tests run (envtest), the one the
// kind node images run and the CRD's oldest proven release are one
// Kubernetes minor each, everywhere they are named: the kind configs,
// scripts/envtest-bin.sh, the wrapper modules it builds from (the node's
// kubelet among them), testkit/kube and the docs' supported range.
func TestVersionsAgree(t *testing.T) {
	minor := func(v string) string {
		return strings.Join(strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)[:2], ".")
	}
	read := func(path string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	current, oldest := kube.CurrentVersion, kube.OldestVersion
	for _, f := range []string{"deploy/kind/primary.yaml", "deploy/kind/burst.yaml"} {
		for _, m := range regexp.MustCompile(`kindest/node:(v[0-9.]+)@`).FindAllStringSubmatch(read(f), -1) {
			if minor(m[1]) != minor(current) {
				t.Errorf("%s runs Kubernetes %s, the tests' API server %s", f, m[1], current)
			}
		}
	}
	script := read("scripts/envtest-bin.sh")
	for name, want := range map[string]string{"k8s_version": current, "oldest_version": oldest} {
		if !strings.Contains(script, "\n"+name+"="+want+"\n") {
			t.Errorf("scripts/envtest-bin.sh does not set %s=%s (testkit/kube's)", name, want)
		}
	}
	for dir, want := range map[string]string{"tools/kube-apiserver": current, "tools/kube-node": current, "tools/kube-apiserver-oldest": oldest} {
		if !regexp.MustCompile(`(?m)^require k8s.io/kubernetes ` + regexp.QuoteMeta(want) + `$|^\s+k8s.io/kubernetes ` + regexp.QuoteMeta(want) + `\b`).MatchString(read(dir + "/go.mod")) {
			t.Errorf("%s/go.mod does not require k8s.io/kubernetes %s", dir, want)
		}
	}
	if want := "Kubernetes " + minor(oldest) + " or later"; !strings.Contains(read("docs/clusters.md"), want) {
		t.Errorf("docs/clusters.md does not say %q", want)
	}
}
