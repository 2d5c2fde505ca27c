// Package registry runs a real image registry (Debian's docker-registry, the
// CNCF distribution registry) on a free loopback port, for tests that push
// images with ko or skaffold and pull them with containerd.
package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// Start runs a registry until the test ends and returns its address,
// 127.0.0.1:PORT. It skips the test (fails it in CI) when docker-registry
// is not installed.
func Start(t testing.TB) string {
	t.Helper()
	bin := component.Require(t, "apt-get install -y --no-install-recommends docker-registry", "docker-registry")
	dir := t.TempDir()
	var addr string
	var reg *process.Process
	if err := component.RetryPortTaken(t, "starting docker-registry", func() (string, error) {
		addr = "127.0.0.1:" + strconv.Itoa(component.FreePort(t))
		cfg := filepath.Join(dir, "config.yml")
		conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
		if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
			return "", err
		}
		out := &process.Log{}
		var err error
		reg, err = process.Start(process.Spec{
			Name: "docker-registry", Path: bin, Args: []string{"serve", cfg},
			Lines: func(name, line string) {
				out.Add(name, line)
				t.Logf("%s: %s", name, line)
			},
			Ready: process.HTTPReady("http://" + addr + "/v2/"), ReadyTimeout: 15 * time.Second,
		})
		return out.Tail(5), err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Stop() })
	return addr
}
