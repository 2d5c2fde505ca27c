package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestClassify(t *testing.T) {
	vs := schema.GroupResource{Group: "networking.istio.io", Resource: "virtualservices"}
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("getting VirtualService ns/worker: %w", context.DeadlineExceeded), "timed out"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, "unreachable"},
		{apierrors.NewForbidden(vs, "worker", errors.New("RBAC")), "not allowed"},
		{apierrors.NewNotFound(vs, "worker"), "not found"},
		{apierrors.NewTimeoutError("slow", 1), "timed out"},
		{fmt.Errorf("%w: a route mixes them", ErrUnsupportedRoute), "unsupported routes"},
		{errors.New("something else"), "failed"},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
