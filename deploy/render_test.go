package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/cloudburst-demo/cloudburst/testkit/kube"
)

// root is the repository root, seen from this package.
const root = ".."

// render builds a kustomization of this repository as `kustomize build`
// does.
func render(t testing.TB, dir string) []*unstructured.Unstructured {
	t.Helper()
	return kustomizeBuild(t, filepath.Join(root, dir))
}

// kustomizeBuild builds the kustomization in dir as `kustomize build`
// does.
func kustomizeBuild(t testing.TB, dir string) []*unstructured.Unstructured {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	b, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kube.Decode(b)
	if err != nil {
		t.Fatalf("decoding %s: %v", dir, err)
	}
	return objs
}

// cluster is what is applied to one cluster.
type cluster struct {
	name string
	objs []*unstructured.Unstructured
}

// clusters renders everything each cluster gets with one way of splitting
// the traffic: its overlay (which includes its istio/ configuration), the
// mesh's exposed services, Prometheus in the primary cluster and
// metrics-server in the burst cluster.
func clusters(t testing.TB, api trafficAPI) []cluster {
	t.Helper()
	return renderClusters(t, api.overlays, "primary", "burst")
}

// renderClusters renders the clusters names from overlays/<name> as make
// clusters and make deploy leave them: the istio-system namespace, the
// overlay, Prometheus in primary (the first) and metrics-server in the
// burst clusters, and the mesh's exposed services.
func renderClusters(t testing.TB, overlays string, names ...string) []cluster {
	t.Helper()
	expose := kube.Objects(t, filepath.Join(root, "deploy/mesh/expose-services.yaml"))
	var out []cluster
	for i, name := range names {
		objs := []*unstructured.Unstructured{{Object: map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "istio-system"},
		}}}
		objs = append(objs, render(t, overlays+"/"+name)...)
		if i == 0 {
			objs = append(objs, render(t, "deploy/prometheus")...)
		} else {
			objs = append(objs, render(t, "deploy/metrics-server")...)
		}
		for _, o := range expose {
			objs = append(objs, o.DeepCopy())
		}
		out = append(out, cluster{name, objs})
	}
	return out
}

// find returns the objects of a kind, optionally by name.
func find(objs []*unstructured.Unstructured, kind, name string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			out = append(out, o)
		}
	}
	return out
}

func one(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	f := find(objs, kind, name)
	if len(f) != 1 {
		t.Fatalf("want one %s %s, found %d", kind, name, len(f))
	}
	return f[0]
}

// TestNoDeprecatedKustomizeFields checks every kustomization in the
// repository for fields kustomize v5 deprecates.
func TestNoDeprecatedKustomizeFields(t *testing.T) {
	deprecated := []string{"bases:", "patchesStrategicMerge:", "patchesJson6902:", "commonLabels:", "vars:", "images: []"}
	var seen int
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && slices.Contains([]string{".git", "bin", "out", "node_modules"}, d.Name()) {
			return filepath.SkipDir
		}
		if d.Name() != "kustomization.yaml" {
			return nil
		}
		seen++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			for _, dep := range deprecated {
				if strings.HasPrefix(strings.TrimSpace(line), dep) {
					t.Errorf("%s uses the deprecated %q", path, dep)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 10 {
		t.Fatalf("found only %d kustomizations", seen)
	}
}

func TestOverlaysRender(t *testing.T) {
	common := map[string][]string{
		"primary": {"Namespace/cloudburst", "Deployment/frontend", "Deployment/worker", "Deployment/redis", "Deployment/burster",
			"Service/frontend", "Service/worker", "Service/redis", "Service/burster", "Role/burster", "RoleBinding/burster", "BurstPolicy/worker",
			"Gateway/frontend", "VirtualService/frontend",
			"PeerAuthentication/default", "AuthorizationPolicy/worker", "AuthorizationPolicy/redis",
			"Deployment/prometheus", "Gateway/cross-network-gateway"},
		"burst": {"Namespace/cloudburst", "Deployment/worker", "Service/worker", "Service/redis",
			"HorizontalPodAutoscaler/worker", "PeerAuthentication/default", "AuthorizationPolicy/worker",
			"Gateway/cross-network-gateway"},
	}
	commonAbsent := map[string][]string{
		"burst": {"Deployment/redis", "Deployment/frontend", "Deployment/burster", "BurstPolicy/worker", "VirtualService/worker", "HTTPRoute/worker"},
	}
	// What each way of splitting adds to both lists.
	want := map[string]map[string][]string{
		"istio": {"primary": {"VirtualService/worker", "DestinationRule/worker"}, "burst": {"DestinationRule/worker"}},
		"gatewayapi": {
			"primary": {"HTTPRoute/worker", "Service/worker-primary", "Service/worker-burst"},
			"burst":   {"Service/worker-primary", "Service/worker-burst"},
		},
	}
	absent := map[string]map[string][]string{
		"istio": {"primary": {"HTTPRoute/worker", "Service/worker-primary", "Service/worker-burst"}},
		"gatewayapi": {
			"primary": {"VirtualService/worker", "DestinationRule/worker"},
			"burst":   {"DestinationRule/worker"},
		},
	}
	eachAPI(t, func(t *testing.T, api trafficAPI) {
		for _, c := range clusters(t, api) {
			have := map[string]bool{}
			for _, o := range c.objs {
				have[o.GetKind()+"/"+o.GetName()] = true
				clusterScoped := o.GetKind() == "Namespace" || o.GetKind() == "APIService" || strings.HasPrefix(o.GetKind(), "Cluster")
				if ns := o.GetNamespace(); !clusterScoped && ns != "cloudburst" && ns != "istio-system" && ns != "kube-system" {
					t.Errorf("%s: %s/%s in namespace %q", c.name, o.GetKind(), o.GetName(), ns)
				}
			}
			for _, w := range append(common[c.name], want[api.router][c.name]...) {
				if !have[w] {
					t.Errorf("%s lacks %s", c.name, w)
				}
			}
			for _, a := range append(commonAbsent[c.name], absent[api.router][c.name]...) {
				if have[a] {
					t.Errorf("%s must not have %s", c.name, a)
				}
			}
		}
	})
}

// TestMetricsServerIsUpstream: deploy/metrics-server/components.yaml is the
// metrics-server release exactly, rendered again here from the release's
// own kustomization in its Go module, and the kustomization adds the one
// flag kind needs, once.
func TestMetricsServerIsUpstream(t *testing.T) {
	out, err := exec.Command("go", "mod", "download", "-json", "sigs.k8s.io/metrics-server@"+metricsServerVersion).Output()
	if err != nil {
		t.Fatalf("go mod download metrics-server: %v", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	upstream := kustomizeBuild(t, filepath.Join(mod.Dir, "manifests", "overlays", "release"))
	vendored := kube.Objects(t, filepath.Join(root, "deploy", "metrics-server", "components.yaml"))
	key := func(o *unstructured.Unstructured) string {
		return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
	}
	byKey := map[string]*unstructured.Unstructured{}
	for _, o := range vendored {
		byKey[key(o)] = o
	}
	if len(vendored) != len(upstream) {
		t.Fatalf("components.yaml has %d objects, the release %d", len(vendored), len(upstream))
	}
	for _, o := range upstream {
		if v := byKey[key(o)]; v == nil || !equality.Semantic.DeepEqual(v.Object, o.Object) {
			t.Errorf("components.yaml differs from the release at %s", key(o))
		}
	}

	d := one(t, render(t, "deploy/metrics-server"), "Deployment", "metrics-server")
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	if n := slices.Index(args, "--kubelet-insecure-tls"); n < 0 || slices.Index(args[n+1:], "--kubelet-insecure-tls") >= 0 {
		t.Fatalf("metrics-server args %v: want --kubelet-insecure-tls once", args)
	}
}

// metricsServerVersion is the vendored metrics-server release.
const metricsServerVersion = "v0.7.2"

// TestGatewayAPIVersionAgrees: make clusters installs the Gateway API
// release the tests install and the pinned Istio is built against.
func TestGatewayAPIVersionAgrees(t *testing.T) {
	read := func(path, pattern string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(pattern).FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s has no %s", path, pattern)
		}
		return string(m[1])
	}
	script := read("deploy/clusters.sh", `(?m)^gateway_api_version=(v\S+)`)
	istio := read("tools/istio/go.mod", `sigs\.k8s\.io/gateway-api (v\S+)`)
	if script != kube.GatewayAPIVersion || istio != kube.GatewayAPIVersion {
		t.Fatalf("Gateway API: clusters.sh installs %s, the tests %s, Istio is built against %s", script, kube.GatewayAPIVersion, istio)
	}
}
