package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// TestShellcheck runs shellcheck on every script of the project.
func TestShellcheck(t *testing.T) {
	shellcheck := component.Require(t, "apt-get install -y --no-install-recommends shellcheck", "shellcheck")
	scripts, err := filepath.Glob(filepath.Join(root, "scripts", "*.sh"))
	if err != nil {
		t.Fatal(err)
	}
	scripts = append(scripts, filepath.Join(root, "deploy", "clusters.sh"), filepath.Join(root, "deploy", "mesh", "gen-certs.sh"),
		filepath.Join(root, ".ci", "run"))
	cmd := exec.Command(shellcheck, append([]string{"-x", "--source-path=SCRIPTDIR"}, scripts...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}

// stubs puts scripts named like the tools clusters.sh calls first on PATH
// and returns the PATH to use. Each stub is a shell script body.
func stubs(t *testing.T, bodies map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range bodies {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH")
}

// TestClustersSkaffold: `clusters.sh skaffold` runs skaffold with a
// kubeconfig whose current context is kind-primary, whatever context the
// user selected, with the kind nodes' platform, with the configs of the
// clusters CLUSTERS counts (unless the arguments name configs), and with
// the profile ROUTER and STRATEGY select.
func TestClustersSkaffold(t *testing.T) {
	dir := t.TempDir()
	// The user's own kubeconfig selects another cluster.
	user := filepath.Join(dir, "user-kubeconfig")
	if err := os.WriteFile(user, []byte("current-context: elsewhere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(dir, "skaffold-call")
	path := stubs(t, map[string]string{
		"docker": "exit 0",
		// kind export kubeconfig adds the cluster's context to the file and
		// makes it the current one (the stand-in writes just those lines).
		"kind": `case "$1 $2" in
"get clusters") printf 'primary\nburst\nburst-2\n' ;;
"export kubeconfig") touch "$6"; { grep -v '^current-context:' "$6"; echo "context: kind-$4"; echo "current-context: kind-$4"; } >"$6.new" && mv "$6.new" "$6" ;;
*) exit 1 ;;
esac`,
		"kubectl":  `case "$*" in *"get nodes"*) echo arm64 ;; *) exit 1 ;; esac`,
		"skaffold": `{ sed -n 's/^current-context: //p' "$KUBECONFIG"; sed -n 's/^context: //p' "$KUBECONFIG" | sort | tr '\n' ' '; echo; echo "$*"; } >` + record,
	})
	// run runs clusters.sh skaffold ARGS with "ROUTER STRATEGY CLUSTERS".
	run := func(t *testing.T, router string, args ...string) ([]string, error) {
		t.Helper()
		_ = os.Remove(record)
		vars := strings.Split(router+"  ", " ")
		cmd := exec.Command(filepath.Join(root, "deploy", "clusters.sh"), append([]string{"skaffold", "run"}, args...)...)
		cmd.Env = append(os.Environ(), "PATH="+path, "KUBECONFIG="+user, "CLUSTERS_STATE="+t.TempDir(), "ROUTER="+vars[0], "STRATEGY="+vars[1])
		if vars[2] != "" {
			cmd.Env = append(cmd.Env, "CLUSTERS="+vars[2])
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("clusters.sh skaffold run: %v\n%s", err, out)
		}
		b, err := os.ReadFile(record)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimSpace(string(b)), "\n")
		for i := range got {
			got[i] = strings.TrimSpace(got[i])
		}
		return got, nil
	}
	two, three := "kind-burst kind-primary", "kind-burst kind-burst-2 kind-primary"
	for router, want := range map[string][2]string{
		"":           {two, "run -m primary,burst --platform linux/arm64"},
		"istio":      {two, "run -m primary,burst --platform linux/arm64"},
		"gatewayapi": {two, "run -m primary,burst --profile gatewayapi --platform linux/arm64"},
		// "ROUTER STRATEGY CLUSTERS"
		" switch":        {two, "run -m primary,burst --platform linux/arm64"},
		" slo":           {two, "run -m primary,burst --profile slo --platform linux/arm64"},
		"gatewayapi slo": {two, "run -m primary,burst --profile gatewayapi-slo --platform linux/arm64"},
		"  2":            {two, "run -m primary,burst --platform linux/arm64"},
		"  3":            {three, "run -m primary,burst,burst-2 --profile three --platform linux/arm64"},
		"gatewayapi  3":  {three, "run -m primary,burst,burst-2 --profile gatewayapi-three --platform linux/arm64"},
		" slo 3":         {three, "run -m primary,burst,burst-2 --profile slo-three --platform linux/arm64"},
	} {
		got, err := run(t, router)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"kind-primary", want[0], want[1]}; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("%q: skaffold ran with current context, contexts, args %q, want %q", router, got, want)
		}
	}
	// Configs named by the caller are left alone.
	if got, err := run(t, "", "-m", "burst"); err != nil || got[2] != "run -m burst --platform linux/arm64" {
		t.Fatalf("-m burst: %q, %v", got, err)
	}
	if _, err := run(t, "gatewayapi slo 3"); err == nil || !strings.Contains(err.Error(), "CLUSTERS=3 with STRATEGY=slo splits over a VirtualService: leave ROUTER unset") {
		t.Fatalf("ROUTER=gatewayapi STRATEGY=slo CLUSTERS=3: %v, want a refusal", err)
	}
	if _, err := run(t, "  4"); err == nil || !strings.Contains(err.Error(), "CLUSTERS=4: want 2") {
		t.Fatalf("CLUSTERS=4: %v, want a refusal naming the choices", err)
	}
	if _, err := run(t, "nginx"); err == nil || !strings.Contains(err.Error(), "want istio (a VirtualService) or gatewayapi") {
		t.Fatalf("ROUTER=nginx: %v, want a refusal naming the choices", err)
	}
	if _, err := run(t, "istio latency"); err == nil || !strings.Contains(err.Error(), "STRATEGY=latency: want switch") {
		t.Fatalf("STRATEGY=latency: %v, want a refusal naming the choices", err)
	}
}

// TestClustersDownStopsItsLoadBalancer: `clusters.sh down` stops the
// cloud-provider-kind whose pid it recorded (a name longer than the 15
// characters pgrep -x can match), and nothing else.
func TestClustersDownStopsItsLoadBalancer(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	path := stubs(t, map[string]string{
		"kind":                "exit 0",
		"cloud-provider-kind": "while :; do sleep 1; done",
	})
	lb := exec.Command(filepath.Join(strings.Split(path, string(os.PathListSeparator))[0], "cloud-provider-kind"))
	if err := lb.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- lb.Wait() }()
	t.Cleanup(func() { _ = lb.Process.Kill() })
	if err := os.WriteFile(filepath.Join(state, "cloud-provider-kind.pid"), []byte(strconv.Itoa(lb.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(filepath.Join(root, "deploy", "clusters.sh"), "down")
	cmd.Env = append(os.Environ(), "PATH="+path, "CLUSTERS_STATE="+state)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clusters.sh down: %v\n%s", err, out)
	}
	select {
	case err := <-exited:
		if ws, ok := lb.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGTERM {
			t.Fatalf("cloud-provider-kind ended with %v, want SIGTERM", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("clusters.sh down left its cloud-provider-kind running")
	}
	if _, err := os.Stat(filepath.Join(state, "cloud-provider-kind.pid")); !os.IsNotExist(err) {
		t.Fatalf("the pid file is still there: %v", err)
	}
}

// TestInstallDepsOnMac: on macOS, make deps installs nothing and stops at
// once with one message naming the Homebrew formulas (and what Homebrew
// does not name so), or passes when everything is there.
func TestInstallDepsOnMac(t *testing.T) {
	script := filepath.Join(root, "scripts", "install-deps.sh")
	all := []string{"redis-server", "prometheus", "docker-registry", "openssl", "shellcheck", "wrk", "chromium"}
	tests := []struct {
		name    string
		present []string
		fails   bool
		want    []string
	}{
		{"some missing", []string{"openssl", "shellcheck", "google-chrome"}, true, []string{
			"make test needs programs this Mac lacks: redis-server prometheus docker-registry wrk",
			"  brew install redis prometheus wrk",
			"  and docker-registry, the CNCF distribution registry",
			"(make demo needs none of them: only Go)",
		}},
		{"no browser", []string{"redis-server", "prometheus", "docker-registry", "openssl", "shellcheck", "wrk"}, true, []string{
			"lacks: chromium", "brew install --cask google-chrome",
		}},
		{"all there", all, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			record := filepath.Join(t.TempDir(), "calls")
			bodies := map[string]string{
				"uname": "echo Darwin",
				// Neither may be called on a Mac.
				"apt-get": "echo apt-get >> " + record, "sudo": "echo sudo >> " + record,
			}
			for _, p := range tt.present {
				bodies[p] = "exit 0"
			}
			path := stubs(t, bodies)
			cmd := exec.Command("/bin/bash", script)
			// Only the stubs: the programs of this machine are not found.
			cmd.Env = append(os.Environ(), "PATH="+strings.SplitN(path, string(os.PathListSeparator), 2)[0])
			out, err := cmd.CombinedOutput()
			if (err != nil) != tt.fails {
				t.Fatalf("install-deps.sh = %v, want failure %v; output:\n%s", err, tt.fails, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if calls, err := os.ReadFile(record); err == nil {
				t.Fatalf("install-deps.sh ran %s on a Mac", calls)
			}
		})
	}
}

// TestDepsListMatchesDocs: what make deps installs is what the README's
// first-run paragraph and make help say it installs, no more and no less.
func TestDepsListMatchesDocs(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(root, "scripts", "install-deps.sh"))
	if err != nil {
		t.Fatal(err)
	}
	var installs []string
	for _, m := range regexp.MustCompile(`need\+=\(([a-z-]+)\)`).FindAllStringSubmatch(string(script), -1) {
		installs = append(installs, m[1])
	}
	if len(installs) < 5 {
		t.Fatalf("found %v in install-deps.sh", installs)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, para, _ := strings.Cut(string(readme), "The first `make test` installs")
	para, _, _ = strings.Cut(para, " with apt")
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	_, help, _ := strings.Cut(string(makefile), "deps: ## ")
	help, _, _ = strings.Cut(help, "\n")
	for doc, text := range map[string]string{"the README's first-run paragraph": para, "make help": help} {
		named := regexp.MustCompile(`[a-z][a-z-]+`).FindAllString(strings.ReplaceAll(text, "`", " "), -1)
		for _, want := range installs {
			if !slices.Contains(named, want) {
				t.Errorf("%s does not name %s, which make deps installs: %q", doc, want, text)
			}
		}
		for _, n := range named {
			if strings.Contains(n, "-") && !slices.Contains(installs, n) {
				t.Errorf("%s names %s, which make deps does not install", doc, n)
			}
		}
	}
}
