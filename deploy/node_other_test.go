//go:build !linux

package deploy

import (
	"runtime"
	"testing"

	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// TestNodes runs the overlays on real kubelets (node_test.go): Linux only.
func TestNodes(t *testing.T) {
	component.Missing(t, "the node tests run a kubelet, which needs Linux; this is %s", runtime.GOOS)
}
