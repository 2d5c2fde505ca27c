// Package router applies the burster's decisions: it reads and writes the
// weights of the routes to the clusters' workers, in spill order, in
// an Istio VirtualService, a Gateway API HTTPRoute or the local demo's mesh.
package router

import (
	"context"
	"errors"
	"net"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/cloudburst-demo/cloudburst/pkg/envconf"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// ErrInconsistent means the routes disagree on the weights (for example one
// HTTP route was edited by hand). Setting the weights repairs it.
var ErrInconsistent = errors.New("routes disagree on the weights")

// Router reads and writes the traffic split.
type Router interface {
	// Get returns the current split.
	Get(ctx context.Context) (split.Split, error)
	// Set writes the split and returns the one it replaced. Writing the
	// split that is already there changes nothing.
	Set(ctx context.Context, s split.Split) (old split.Split, err error)
}

// ErrWatchDown is what a Watcher reports when its watch fails (the API
// server cut it, refused it, or cannot be reached): until the next change
// is reported, changes may go unseen.
var ErrWatchDown = errors.New("the watch is down")

// Watcher is a Router that reports changes made by anyone, so the burster
// can put its weights back.
type Watcher interface {
	// Watch calls onChange with the split after every change (err is set
	// when it cannot be read, and wraps ErrWatchDown when the watch itself
	// failed) until ctx is done. It returns early only if it cannot watch
	// at all.
	Watch(ctx context.Context, onChange func(split.Split, error)) error
}

// Kind names a router.
type Kind string

// The routers.
const (
	KindIstio      Kind = "istio"      // an Istio VirtualService, through the Kubernetes API
	KindGatewayAPI Kind = "gatewayapi" // a Gateway API HTTPRoute, through the Kubernetes API
	KindLocalMesh  Kind = "localmesh"  // the local demo's stand-in mesh, through its admin API
)

// Kinds lists every router.
var Kinds = []Kind{KindIstio, KindGatewayAPI, KindLocalMesh}

// Kube reports whether the router works through the Kubernetes API.
func (k Kind) Kube() bool { return k == KindIstio || k == KindGatewayAPI }

// UnmarshalText accepts only the names in Kinds.
func (k *Kind) UnmarshalText(b []byte) error { return envconf.OneOf(k, string(b), Kinds) }

// Classify names the class of a router's error, for the status API and the
// page; the full error, with addresses, belongs in the log.
func Classify(err error) string {
	var netErr net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout(), apierrors.IsTimeout(err):
		return "timed out"
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return "not allowed"
	case apierrors.IsNotFound(err):
		return "not found"
	case errors.Is(err, ErrUnsupportedRoute):
		return "unsupported routes"
	case errors.As(err, &netErr):
		return "unreachable"
	}
	return "failed"
}
