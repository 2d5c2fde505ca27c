// Package component finds the real programs integration tests run against
// (redis-server, chromium, ...). On a laptop a missing program skips the test
// with a message saying what to install; with CI=true it fails the test, so a
// skip can never hide a broken integration in CI.
package component

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/poll"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
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

// Eventually polls cond until it holds, failing t with what after timeout.
// Tests wait through it (or WaitHTTP) rather than through loops of their own.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := poll.Until(context.Background(), timeout, pollInterval, poll.True(what, cond)); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// EventuallyNil polls check until it returns nil, failing t with what and
// check's last error after timeout.
func EventuallyNil(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	EventuallyEvery(t, timeout, pollInterval, what, check)
}

// EventuallyEvery is EventuallyNil asking every interval, for a check that
// costs enough (a browser round trip) to ask less often.
func EventuallyEvery(t testing.TB, timeout, interval time.Duration, what string, check func() error) {
	t.Helper()
	if err := poll.Until(context.Background(), timeout, interval, check); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// pollInterval is how often Eventually asks: short enough that waiting adds
// little to a test, long enough not to load the machine.
const pollInterval = 20 * time.Millisecond

// WaitHTTP polls url until it answers 200, failing t after timeout.
func WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	EventuallyNil(t, timeout, url+" answering 200", process.HTTPReady(url))
}

// FreePorts returns n distinct TCP ports on 127.0.0.1 that were free a
// moment ago: each is held until all are found, so no two are the same
// (FreePort n times can return a port twice).
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("finding a free port: %v", err)
		}
		defer ln.Close()
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports
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
