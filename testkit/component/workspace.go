package component

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// WorkspaceRoot is the root of the go.work workspace the test runs in: where
// bin/ holds the tools `make envtest` and `make tools` build.
func WorkspaceRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.work above %s", wd)
		}
	}
}

// Tool returns the path of a pinned tool built by `make tools` into
// bin/tools, skipping t (failing it in CI) when it has not been built.
func Tool(t testing.TB, name string) string {
	t.Helper()
	root, err := WorkspaceRoot()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "bin", "tools", name)
	if _, err := os.Stat(p); err != nil {
		Missing(t, "%s not built in bin/tools; build it with: make tools", name)
	}
	return p
}
