// Package kube runs a real Kubernetes API server (kube-apiserver and etcd,
// through controller-runtime's envtest) with Istio's CRDs installed, for
// integration tests. The binaries are built from source by `make envtest`
// into bin/envtest; nothing is downloaded at test time.
package kube

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// IstioAPIVersion is the istio.io/api release whose CRDs are installed. It
// matches the Istio the deployment targets.
const IstioAPIVersion = "v1.31.1"

// Env is a running API server.
type Env struct {
	// Config is an admin (system:masters) client configuration.
	Config *rest.Config
	env    *envtest.Environment
}

// Start runs an API server with Istio's CRDs installed and established, and
// stops it when the test ends. It skips the test (fails it in CI) when the
// binaries have not been built.
func Start(t testing.TB) *Env {
	t.Helper()
	assets, err := assetsDir()
	if err != nil {
		component.Missing(t, "%v; build them with: make envtest", err)
	}
	crds, err := istioCRDs()
	if err != nil {
		t.Fatalf("locating Istio CRDs: %v", err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDInstallOptions:     envtest.CRDInstallOptions{Paths: []string{crds}, ErrorIfPathMissing: true},
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting kube-apiserver and etcd: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Logf("stopping the API server: %v", err)
		}
	})
	return &Env{Config: cfg, env: env}
}

// assetsDir finds the kube-apiserver and etcd binaries: KUBEBUILDER_ASSETS,
// or bin/envtest at the root of the workspace this test runs in.
func assetsDir() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	root, err := component.WorkspaceRoot()
	if err != nil {
		return "", fmt.Errorf("%w, and KUBEBUILDER_ASSETS is not set", err)
	}
	assets := filepath.Join(root, "bin", "envtest")
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			return "", fmt.Errorf("%s not found in %s", b, assets)
		}
	}
	return assets, nil
}

// istioCRDs returns the path of Istio's CRD bundle in the module cache,
// downloading the pinned istio.io/api module through the Go module proxy
// if needed.
func istioCRDs() (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", "istio.io/api@"+IstioAPIVersion).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download istio.io/api@%s: %w", IstioAPIVersion, err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return "", fmt.Errorf("reading go mod download output: %w", err)
	}
	if mod.Error != "" {
		return "", fmt.Errorf("go mod download istio.io/api@%s: %s", IstioAPIVersion, mod.Error)
	}
	path := filepath.Join(mod.Dir, "kubernetes", "customresourcedefinitions.gen.yaml")
	if _, err := os.Stat(path); err != nil {
		return "", err
	}
	return path, nil
}
