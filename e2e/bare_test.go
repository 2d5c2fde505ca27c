package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestBareServes: the ceiling benchmark's bare server starts through the
// same harness as the services (port 0, the address from its log) and
// answers a worker-sized body, so make bench cannot find it broken first.
func TestBareServes(t *testing.T) {
	bare := start(t, "bare", nil)
	resp, err := http.Post(bare.base+"/", "application/json", strings.NewReader(`{"str":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), `{"message":"`) {
		t.Fatalf("bare answered %s %q", resp.Status, body)
	}
}
