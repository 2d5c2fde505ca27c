// Package component finds the real programs integration tests run against
// (redis-server, chromium, ...). On a laptop a missing program skips the test
// with a message saying what to install; with CI=true it fails the test, so a
// skip can never hide a broken integration in CI.
package component

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// InCI reports whether the tests run in CI, where every component must exist.
func InCI() bool {
	v, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && v
}

// Require returns the path of the first of names found on PATH. If none is
// found it skips t, or fails it in CI, naming what to install.
func Require(t testing.TB, install string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	Missing(t, "%v not found on PATH; install it with: %s", names, install)
	return ""
}

// Missing skips t, or fails it when InCI, with the formatted message.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true and a required component is missing: "+format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
