package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/cloudburst-demo/cloudburst/testkit/kube"
)

// root is the repository root, seen from this package.
const root = ".."

// render builds a kustomization as `kustomize build` does.
func render(t testing.TB, dir string) []*unstructured.Unstructured {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(root, dir))
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

// clusters renders everything each cluster gets: its overlay (which includes
// its istio/ configuration), the mesh's exposed services, and Prometheus in
// the primary cluster.
func clusters(t testing.TB) []cluster {
	t.Helper()
	expose := kube.Objects(t, filepath.Join(root, "deploy/mesh/expose-services.yaml"))
	istioSystem := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "istio-system"},
	}}
	primary := append([]*unstructured.Unstructured{istioSystem}, render(t, "k8s/overlays/primary")...)
	primary = append(primary, render(t, "deploy/prometheus")...)
	primary = append(primary, expose...)
	burst := append([]*unstructured.Unstructured{istioSystem.DeepCopy()}, render(t, "k8s/overlays/burst")...)
	for _, o := range expose {
		burst = append(burst, o.DeepCopy())
	}
	return []cluster{{"primary", primary}, {"burst", burst}}
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
	want := map[string][]string{
		"primary": {"Namespace/cloudburst", "Deployment/frontend", "Deployment/worker", "Deployment/redis", "Deployment/burster",
			"Service/frontend", "Service/worker", "Service/redis", "Service/burster", "Role/burster", "RoleBinding/burster",
			"VirtualService/worker", "DestinationRule/worker", "Gateway/frontend", "VirtualService/frontend",
			"PeerAuthentication/default", "AuthorizationPolicy/worker", "AuthorizationPolicy/redis",
			"Deployment/prometheus", "Gateway/cross-network-gateway"},
		"burst": {"Namespace/cloudburst", "Deployment/worker", "Service/worker", "Service/redis",
			"HorizontalPodAutoscaler/worker", "PeerAuthentication/default", "AuthorizationPolicy/worker", "DestinationRule/worker",
			"Gateway/cross-network-gateway"},
	}
	absent := map[string][]string{
		"burst": {"Deployment/redis", "Deployment/frontend", "Deployment/burster", "VirtualService/worker"},
	}
	for _, c := range clusters(t) {
		have := map[string]bool{}
		for _, o := range c.objs {
			have[o.GetKind()+"/"+o.GetName()] = true
			if ns := o.GetNamespace(); o.GetKind() != "Namespace" && !strings.HasPrefix(o.GetKind(), "Cluster") && ns != "cloudburst" && ns != "istio-system" {
				t.Errorf("%s: %s/%s in namespace %q", c.name, o.GetKind(), o.GetName(), ns)
			}
		}
		for _, w := range want[c.name] {
			if !have[w] {
				t.Errorf("%s lacks %s", c.name, w)
			}
		}
		for _, a := range absent[c.name] {
			if have[a] {
				t.Errorf("%s must not have %s", c.name, a)
			}
		}
	}
}
