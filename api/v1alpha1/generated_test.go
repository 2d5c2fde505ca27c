package v1alpha1

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// TestGeneratedFilesAreCurrent runs controller-gen on the types (as make
// generate does, into a temporary directory) and fails when a committed file
// differs from what it writes: the CRD the clusters apply and the API server
// tests install is the one these types describe, and every field is deep
// copied.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	gen := component.Tool(t, "controller-gen")
	root, err := component.WorkspaceRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command(filepath.Join(root, "scripts", "generate.sh"), out)
	cmd.Env = append(os.Environ(), "CONTROLLER_GEN="+gen)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/generate.sh: %v\n%s", err, b)
	}
	for _, f := range []struct{ generated, committed string }{
		{"object/zz_generated.deepcopy.go", "api/v1alpha1/zz_generated.deepcopy.go"},
		{"crd/cloudburst.dev_burstpolicies.yaml", "k8s/base/crd/cloudburst.dev_burstpolicies.yaml"},
	} {
		want, err := os.ReadFile(filepath.Join(out, f.generated))
		if err != nil {
			t.Fatalf("controller-gen wrote no %s: %v", f.generated, err)
		}
		got, err := os.ReadFile(filepath.Join(root, f.committed))
		if err != nil {
			t.Fatalf("reading %s: %v (make generate writes it)", f.committed, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what controller-gen writes from the types: run make generate and commit it", f.committed)
		}
	}
}
