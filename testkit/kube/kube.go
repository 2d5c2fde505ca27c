// Package kube runs a real Kubernetes API server (kube-apiserver and etcd,
// through controller-runtime's envtest) with Istio's, the Gateway API's and
// the project's CRDs installed, for integration tests. The binaries are
// built from source by `make envtest` into bin/envtest; nothing is
// downloaded at test time.
package kube

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// The releases whose CRDs are installed, each from its Go module (fetched
// through the Go module proxy when missing from the module cache).
const (
	// IstioAPIVersion is the istio.io/api release; it matches the Istio the
	// deployment targets.
	IstioAPIVersion = "v1.31.1"
	// GatewayAPIVersion is the sigs.k8s.io/gateway-api release whose
	// standard channel `make clusters` installs; it is the one the pinned
	// Istio is built against.
	GatewayAPIVersion = "v1.6.0"
)

// The Kubernetes releases `make envtest` builds (scripts/envtest-bin.sh):
// the one the kind node images run (deploy/kind), which Start runs, and
// the oldest minor the README says the project supports, which
// StartOldest runs, so the CRD and its CEL rules are proven on both.
const (
	CurrentVersion = "v1.35.4"
	OldestVersion  = "v1.33.13"
)

var setLogger sync.Once

// Env is a running API server.
type Env struct {
	// Config is an admin (system:masters) client configuration.
	Config *rest.Config
	env    *envtest.Environment
	stop   sync.Once
}

// Start runs an API server of CurrentVersion with Istio's CRDs, the
// Gateway API's standard channel CRDs and the project's CRDs installed and
// established, and stops it when the test ends. It skips the test (fails
// it in CI) when the binaries have not been built.
func Start(t testing.TB) *Env {
	t.Helper()
	return start(t, "envtest", Options{})
}

// StartOldest is Start with an API server of OldestVersion.
func StartOldest(t testing.TB) *Env {
	t.Helper()
	return start(t, "envtest-oldest", Options{})
}

// Options make Start's API server one that pods on real nodes can use
// (testkit/kube/node): the defaults suit a cluster without nodes.
type Options struct {
	// AdvertiseAddress is where the `kubernetes` Service sends pods: an
	// address of the node's network, forwarded to the API server.
	AdvertiseAddress string
	// ServingAddresses are IP addresses the serving certificate names
	// beside 127.0.0.1: the `kubernetes` Service's cluster IP and
	// AdvertiseAddress, for clients in pods.
	ServingAddresses []net.IP
	// Admission turns on the default admission plugins, the
	// ServiceAccount plugin among them, which envtest turns off: pods then
	// get their service account's token.
	Admission bool
}

// StartWith is Start with opts.
func StartWith(t testing.TB, opts Options) *Env {
	t.Helper()
	return start(t, "envtest", opts)
}

// start runs the API server in bin/dir.
func start(t testing.TB, dir string, opts Options) *Env {
	t.Helper()
	// envtest logs through controller-runtime's logger, which prints a
	// warning with a stack trace into the test output when nobody set it;
	// its failures come back as errors.
	setLogger.Do(func() { ctrllog.SetLogger(logr.Discard()) })
	assets, err := assetsDir(dir)
	if err != nil {
		component.Missing(t, "%v; build them with: make envtest", err)
	}
	istio, err := moduleFile("istio.io/api", IstioAPIVersion, "kubernetes/customresourcedefinitions.gen.yaml")
	if err != nil {
		t.Fatalf("locating Istio's CRDs: %v", err)
	}
	gatewayAPI, err := GatewayAPICRDs()
	if err != nil {
		t.Fatalf("locating the Gateway API's CRDs: %v", err)
	}
	project, err := ProjectCRDs()
	if err != nil {
		t.Fatalf("locating the project's CRDs: %v", err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths: append([]string{istio, gatewayAPI}, project...), ErrorIfPathMissing: true,
		},
	}
	// A directory of our own keeps the serving certificate and the
	// service-account keys across RestartAPIServer: tokens and clients made
	// before a restart still work after it.
	api := env.ControlPlane.GetAPIServer()
	api.CertDir = t.TempDir()
	if len(opts.ServingAddresses) > 0 {
		ca, err := writeServingCerts(api.CertDir, opts.ServingAddresses)
		if err != nil {
			t.Fatalf("writing the API server's certificates: %v", err)
		}
		api.SecureServing.CA = ca
	}
	if opts.AdvertiseAddress != "" {
		api.Configure().Set("advertise-address", opts.AdvertiseAddress)
	}
	if opts.Admission {
		api.Configure().Disable("disable-admission-plugins")
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting kube-apiserver and etcd: %v", err)
	}
	e := &Env{Config: cfg, env: env}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Logf("stopping the API server: %v", err)
		}
	})
	return e
}

// Stop stops the API server and etcd, for a test of what happens when the
// API cannot be reached; the test's end stops them otherwise. Later calls
// do nothing.
func (e *Env) Stop() error {
	var err error
	e.stop.Do(func() { err = e.env.Stop() })
	return err
}

// RestartAPIServer stops kube-apiserver and starts it again on the same
// port, with the same certificates and the same etcd: every connection and
// watch is cut, and the data is still there. It returns once the new one
// answers.
func (e *Env) RestartAPIServer(t testing.TB) {
	t.Helper()
	api := e.env.ControlPlane.GetAPIServer()
	if err := api.Stop(); err != nil {
		t.Fatalf("stopping kube-apiserver: %v", err)
	}
	if err := api.Start(); err != nil {
		t.Fatalf("starting kube-apiserver again: %v", err)
	}
}

// writeServingCerts writes what envtest would (the serving certificate
// and the service-account signing key, under its file names) with a
// serving certificate for localhost, 127.0.0.1 and addrs, and returns the
// certificate of the CA that signed it.
func writeServingCerts(dir string, addrs []net.IP) ([]byte, error) {
	chain, key, err := certutil.GenerateSelfSignedCertKey("localhost", append([]net.IP{net.IPv4(127, 0, 0, 1)}, addrs...),
		[]string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"})
	if err != nil {
		return nil, err
	}
	// The chain is the serving certificate, then its CA's.
	_, rest := pem.Decode(chain)
	ca, _ := pem.Decode(rest)
	if ca == nil {
		return nil, fmt.Errorf("no CA certificate after the serving certificate")
	}
	saCert, saKey, err := certutil.GenerateSelfSignedCertKey("service-accounts", nil, nil)
	if err != nil {
		return nil, err
	}
	for name, b := range map[string][]byte{
		"apiserver.crt": chain, "apiserver.key": key, "sa-signer.crt": saCert, "sa-signer.key": saKey,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	return pem.EncodeToMemory(ca), nil
}

// CertDir is the directory of the API server's certificates and keys
// (apiserver.crt, sa-signer.key): what a controller manager signs and
// checks with.
func (e *Env) CertDir() string { return e.env.ControlPlane.GetAPIServer().CertDir }

// CA is the certificate of the CA that signed the API server's serving
// certificate.
func (e *Env) CA() []byte { return e.env.ControlPlane.GetAPIServer().SecureServing.CA }

// assetsDir finds the kube-apiserver and etcd binaries: bin/dir at the
// root of the workspace this test runs in, or, for bin/envtest,
// KUBEBUILDER_ASSETS when set.
func assetsDir(dir string) (string, error) {
	if env := os.Getenv("KUBEBUILDER_ASSETS"); env != "" && dir == "envtest" {
		return env, nil
	}
	root, err := component.WorkspaceRoot()
	if err != nil {
		return "", fmt.Errorf("%w, and KUBEBUILDER_ASSETS is not set", err)
	}
	assets := filepath.Join(root, "bin", dir)
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			return "", fmt.Errorf("%s not found in %s", b, assets)
		}
	}
	return assets, nil
}

// ProjectCRDs are the project's own CRDs (the BurstPolicy), as generated
// from the types in api/ into k8s/base/crd.
func ProjectCRDs() ([]string, error) {
	root, err := component.WorkspaceRoot()
	if err != nil {
		return nil, err
	}
	return []string{filepath.Join(root, "k8s", "base", "crd", "cloudburst.dev_burstpolicies.yaml")}, nil
}

// GatewayAPICRDs is the directory of the Gateway API's standard channel in
// its module: the files its release's standard-install.yaml is made of.
func GatewayAPICRDs() (string, error) {
	return moduleFile("sigs.k8s.io/gateway-api", GatewayAPIVersion, "config/crd/standard")
}

// moduleFile returns the path of a file or directory in a module, from the
// module cache, downloading the module through the Go module proxy if
// needed.
func moduleFile(module, version, path string) (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", module+"@"+version).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", module, version, err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return "", fmt.Errorf("reading go mod download output: %w", err)
	}
	if mod.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", module, version, mod.Error)
	}
	full := filepath.Join(mod.Dir, filepath.FromSlash(path))
	if _, err := os.Stat(full); err != nil {
		return "", err
	}
	return full, nil
}
