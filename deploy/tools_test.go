package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// writeYAML writes objects as one multi-document file.
func writeYAML(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	var buf bytes.Buffer
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	p := filepath.Join(t.TempDir(), "objects.yaml")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, dir, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SKAFFOLD_UPDATE_CHECK=false")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestIstioctl runs the real istioctl offline: validate (the webhook's
// checks) and analyze (cross-resource checks) on each cluster's objects,
// either way of splitting the traffic, and manifest generate on the install
// configuration.
func TestIstioctl(t *testing.T) {
	istioctl := component.Tool(t, "istioctl")
	eachAPI(t, func(t *testing.T, api trafficAPI) {
		for _, c := range clusters(t, api) {
			t.Run(c.name, func(t *testing.T) { istioctlAccepts(t, istioctl, c.objs) })
		}
	})

	t.Run("checks can fail", func(t *testing.T) {
		objs := clusters(t, istioAPI)[0].objs
		vs := one(t, objs, "VirtualService", "worker").DeepCopy()
		http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
		http[0].(map[string]any)["route"].([]any)[1].(map[string]any)["weight"] = int64(-5)
		_ = unstructured.SetNestedSlice(vs.Object, http, "spec", "http")
		if out, err := run(t, ".", istioctl, "validate", "-f", writeYAML(t, []*unstructured.Unstructured{vs})); err == nil {
			t.Fatalf("istioctl validate accepted a negative weight:\n%s", out)
		}
		// A DestinationRule without the burst subset: IST0101.
		var changed []*unstructured.Unstructured
		for _, o := range objs {
			if o.GetKind() == "DestinationRule" && o.GetName() == "worker" {
				o = o.DeepCopy()
				subsets, _, _ := unstructured.NestedSlice(o.Object, "spec", "subsets")
				_ = unstructured.SetNestedSlice(o.Object, subsets[:1], "spec", "subsets")
			}
			changed = append(changed, o)
		}
		out, err := run(t, ".", istioctl, "analyze", "--use-kube=false", "--all-namespaces", writeYAML(t, changed))
		if err == nil || !strings.Contains(out, "IST0101") {
			t.Fatalf("istioctl analyze with a subset missing: %v\n%s", err, out)
		}
	})

	for _, f := range []string{"primary", "burst", "burst-2", "eastwest-primary", "eastwest-burst", "eastwest-burst-2"} {
		t.Run("install/"+f, func(t *testing.T) {
			out, err := run(t, ".", istioctl, "manifest", "generate", "-f", filepath.Join(root, "deploy", "mesh", f+".yaml"))
			if err != nil {
				t.Fatalf("istioctl manifest generate: %v\n%s", err, out)
			}
			objs, err := decodeAll(out)
			if err != nil || len(objs) == 0 {
				t.Fatalf("manifest generate gave %d objects: %v", len(objs), err)
			}
		})
	}
}

// istioctlAccepts runs istioctl validate and analyze on objs, and fails
// the test unless both accept them.
func istioctlAccepts(t *testing.T, istioctl string, objs []*unstructured.Unstructured) {
	t.Helper()
	f := writeYAML(t, objs)
	if out, err := run(t, ".", istioctl, "validate", "-f", f); err != nil {
		t.Fatalf("istioctl validate: %v\n%s", err, out)
	}
	// --all-namespaces: by default analyze reports only on the namespace
	// "default", which would leave ours unchecked.
	out, err := run(t, ".", istioctl, "analyze", "--use-kube=false", "--all-namespaces", f)
	if err != nil || !strings.Contains(out, "No validation issues found") {
		t.Fatalf("istioctl analyze: %v\n%s", err, out)
	}
}

func decodeAll(s string) ([]map[string]any, error) {
	var out []map[string]any
	for _, doc := range strings.Split(s, "\n---") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, err
		}
		if len(m) > 0 {
			out = append(out, m)
		}
	}
	return out, nil
}
