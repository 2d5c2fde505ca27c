// Package component finds the real programs integration tests run against
// (redis-server, chromium, ...). On a laptop a missing program skips the test
// with a message saying what to install; with CI=true it fails the test, so a
// skip can never hide a broken integration in CI.
package component

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
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

// Eventually polls cond every 20ms until it holds, failing t with what
// after timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitHTTP polls url until it answers 200, failing t after timeout.
func WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within %s: %v", url, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
