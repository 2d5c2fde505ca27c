package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/registry"
)

// TestSkaffoldConfig: the real skaffold accepts skaffold.yaml, with two
// configs on their own kube contexts, each building what it runs, and
// renders both offline, with the profiles gatewayapi, slo and
// gatewayapi-slo too.
func TestSkaffoldConfig(t *testing.T) {
	skaffold := component.Tool(t, "skaffold")
	out, err := run(t, root, skaffold, "diagnose", "--yaml-only")
	if err != nil {
		t.Fatalf("skaffold diagnose: %v\n%s", err, out)
	}
	for _, want := range []string{"name: worker-image", "name: primary", "kubeContext: kind-primary", "name: burst", "kubeContext: kind-burst"} {
		if !strings.Contains(out, want) {
			t.Errorf("skaffold diagnose output lacks %q", want)
		}
	}
	artifacts := skaffoldArtifacts(t)
	if len(artifacts) != 3 {
		t.Fatalf("skaffold.yaml builds %v, want frontend, worker and burster", artifacts)
	}
	for cfg, images := range map[string][]string{"primary": {"frontend", "worker", "burster"}, "burst": {"worker"}} {
		// -m CONFIG alone builds every image the config runs: it requires
		// the config that builds the worker.
		diag, err := run(t, root, skaffold, "diagnose", "--yaml-only", "-m", cfg)
		if err != nil {
			t.Fatalf("skaffold diagnose -m %s: %v\n%s", cfg, err, diag)
		}
		for _, img := range images {
			if !strings.Contains(diag, "- image: "+img+"\n") {
				t.Errorf("skaffold -m %s does not build %s, which it deploys:\n%s", cfg, img, diag)
			}
		}
		out, err := run(t, root, skaffold, "render", "-m", cfg, "--offline=true", "--digest-source=none")
		if err != nil {
			t.Fatalf("skaffold render -m %s: %v\n%s", cfg, err, out)
		}
		for _, img := range images {
			if !strings.Contains(out, "image: "+img+"\n") {
				t.Errorf("skaffold render -m %s: no container runs image %s", cfg, img)
			}
		}
		// Every image of ours (no registry in its name) is one skaffold builds.
		for _, line := range strings.Split(out, "\n") {
			img, ok := strings.CutPrefix(strings.TrimSpace(line), "image: ")
			if ok && !strings.Contains(img, "/") && !artifacts[img] {
				t.Errorf("skaffold render -m %s: image %q is not a skaffold artifact", cfg, img)
			}
		}
		// The profile gatewayapi renders the overlays with the component.
		gw, err := run(t, root, skaffold, "render", "-m", cfg, "-p", "gatewayapi", "--offline=true", "--digest-source=none")
		if err != nil {
			t.Fatalf("skaffold render -m %s -p gatewayapi: %v\n%s", cfg, err, gw)
		}
		for _, marker := range []string{"name: worker-primary\n", "name: worker-burst\n"} {
			if strings.Contains(out, marker) || !strings.Contains(gw, marker) {
				t.Errorf("skaffold render -m %s: %q must appear with -p gatewayapi only", cfg, strings.TrimSpace(marker))
			}
		}
		// The profiles slo and gatewayapi-slo put primary's BurstPolicy on
		// the SLO and leave burst as it is.
		for _, p := range []string{"slo", "gatewayapi-slo"} {
			rendered, err := run(t, root, skaffold, "render", "-m", cfg, "-p", p, "--offline=true", "--digest-source=none")
			if err != nil {
				t.Fatalf("skaffold render -m %s -p %s: %v\n%s", cfg, p, err, rendered)
			}
			onSLO := strings.Contains(rendered, "    type: slo\n")
			gateway := strings.Contains(rendered, "name: worker-primary\n")
			if onSLO != (cfg == "primary") || gateway != strings.HasPrefix(p, "gatewayapi") {
				t.Errorf("skaffold render -m %s -p %s: strategy slo %v, HTTPRoute's Services %v", cfg, p, onSLO, gateway)
			}
		}
	}
	// Three clusters: the profile three and the config burst-2.
	for cfg, want := range map[string][]string{
		"primary": {"    subset: burst-2\n", "    type: spillover\n", "name: burster-burst-2-kubeconfig\n"},
		"burst":   {"    name: burst-2\n"}, // the DestinationRule's subset
		"burst-2": {"    name: burst-2\n", "value: bursty2-\n", "image: worker\n"},
	} {
		args := []string{"render", "-m", cfg, "--offline=true", "--digest-source=none"}
		if cfg != "burst-2" {
			args = append(args, "-p", "three")
		}
		rendersAll(t, root, skaffold, args, want)
	}
	// Three clusters over an HTTPRoute: the profile gatewayapi-three, in
	// every config.
	for cfg, want := range map[string][]string{
		"primary": {"kind: HTTPRoute\n", "  - name: worker-burst-2\n", "backendRef: worker-burst-2\n", "    type: spillover\n"},
		"burst":   {"name: worker-burst-2\n"},
		"burst-2": {"name: worker-burst-2\n", "value: bursty2-\n"},
	} {
		rendersAll(t, root, skaffold, []string{"render", "-m", cfg, "--offline=true", "--digest-source=none", "-p", "gatewayapi-three"}, want)
	}
	// Three clusters on the SLO: the profile slo-three.
	for cfg, want := range map[string][]string{
		"primary": {"    subset: burst-2\n", "    type: slo\n", "capacityPerEndpointRps: 15\n"},
		"burst":   {"    name: burst-2\n"},
	} {
		rendersAll(t, root, skaffold, []string{"render", "-m", cfg, "--offline=true", "--digest-source=none", "-p", "slo-three"}, want)
	}
	diag, err := run(t, root, skaffold, "diagnose", "--yaml-only", "-m", "burst-2")
	if err != nil || !strings.Contains(diag, "kubeContext: kind-burst-2") || !strings.Contains(diag, "- image: worker\n") {
		t.Errorf("skaffold -m burst-2 must build the worker and deploy to kind-burst-2: %v\n%s", err, diag)
	}
}

// rendersAll runs skaffold with args and fails unless its output holds
// every string of want.
func rendersAll(t *testing.T, root, skaffold string, args, want []string) {
	t.Helper()
	out, err := run(t, root, skaffold, args...)
	if err != nil {
		t.Fatalf("skaffold %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("skaffold %s renders no %q", strings.Join(args, " "), strings.TrimSpace(w))
		}
	}
}

// TestSkaffoldBuildsAndSharesImages builds the three images with ko through
// skaffold into a real registry on loopback, then renders both clusters
// with those builds: the burst cluster runs the very worker image the
// primary cluster does.
func TestSkaffoldBuildsAndSharesImages(t *testing.T) {
	skaffold := component.Tool(t, "skaffold")
	repo := registry.Start(t)
	artifacts, tags := skaffoldBuild(t, skaffold, repo)
	for img, tag := range tags {
		ref, err := name.ParseReference(tag)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := remote.Head(ref); err != nil {
			t.Errorf("%s is not in the registry: %v", tag, err)
		}
		if !strings.HasPrefix(tag, repo+"/"+img) {
			t.Errorf("image %s built as %q", img, tag)
		}
	}
	for _, img := range []string{"frontend", "worker", "burster"} {
		if tags[img] == "" {
			t.Fatalf("skaffold built no %s image: %v", img, tags)
		}
	}

	for cfg := range map[string]bool{"primary": true, "burst": true} {
		out, err := run(t, root, skaffold, "render", "-m", cfg, "--build-artifacts", artifacts, "--offline=true", "--digest-source=none")
		if err != nil {
			t.Fatalf("skaffold render -m %s with the builds: %v\n%s", cfg, err, out)
		}
		if !strings.Contains(out, "image: "+tags["worker"]+"\n") {
			t.Fatalf("the %s cluster does not run the built worker image %s:\n%s", cfg, tags["worker"], out)
		}
	}
}

// skaffoldBuild builds the project's images with ko through skaffold
// (make deploy's build) into the registry repo, on a base image pushed
// there, and returns skaffold's artifacts file and the images it built by
// name.
func skaffoldBuild(t *testing.T, skaffold, repo string) (string, map[string]string) {
	t.Helper()
	base := pushBase(t, repo)
	artifacts := filepath.Join(t.TempDir(), "artifacts.json")
	cmd := exec.Command(skaffold, "build", "--push", "--default-repo", repo, "--file-output", artifacts)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "SKAFFOLD_UPDATE_CHECK=false", "KO_DEFAULTBASEIMAGE="+base)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("skaffold build: %v\n%s", err, out)
	}
	var built struct {
		Builds []struct {
			ImageName string `json:"imageName"`
			Tag       string `json:"tag"`
		} `json:"builds"`
	}
	b, err := os.ReadFile(artifacts)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &built); err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, bl := range built.Builds {
		tags[bl.ImageName] = bl.Tag
	}
	return artifacts, tags
}

// pushBase pushes a minimal base image (no layers, non-root user) and
// returns its digest reference: the test stands in for the default
// distroless base, which cannot be pulled without internet.
func pushBase(t *testing.T, registry string) string {
	t.Helper()
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: "amd64", OS: "linux",
		Config: v1.Config{User: "65532:65532"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(registry + "/base:nonroot")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing the base image: %v", err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return registry + "/base@" + d.String()
}

// skaffoldArtifacts reads the images skaffold.yaml builds, across configs.
func skaffoldArtifacts(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "skaffold.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := decodeAll(string(b))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, d := range docs {
		for _, a := range slice(d, "build", "artifacts") {
			out[str(obj(a), "image")] = true
		}
	}
	return out
}
