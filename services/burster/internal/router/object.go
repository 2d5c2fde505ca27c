package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// ErrUnsupportedRoute is returned for a routing object the router will not
// change: no route to its targets, or a route that mixes them with others
// or leaves one out.
var ErrUnsupportedRoute = errors.New("unsupported routes")

// fieldManager names the burster in managedFields and audit logs.
const fieldManager = "burster"

// Object moves the weights of one routing object in the Kubernetes API: an
// Istio VirtualService (NewIstio) or a Gateway API HTTPRoute
// (NewGatewayAPI). It reads and writes the object unstructured, so every
// field it does not manage (other routes, matches, retries, fields newer
// than this code) is written back exactly as the API server returned it.
// Writes carry the resourceVersion they were based on, are retried on
// conflict and validated strictly.
type Object struct {
	client          dynamic.Interface
	gvr             schema.GroupVersionResource
	namespace, name string
	shape           shape
	timeout         time.Duration // bounds each Get, Set and Ref
}

// DefaultTimeout bounds each call unless WithTimeout says otherwise: an API
// server that accepts connections and never answers must cost one bounded
// failure, not the loop.
const DefaultTimeout = 2 * time.Second

func newObject(client dynamic.Interface, gvr schema.GroupVersionResource, namespace, name string, s shape) *Object {
	return &Object{client: client, gvr: gvr, namespace: namespace, name: name, shape: s, timeout: DefaultTimeout}
}

// WithTimeout bounds each Get, Set (its conflict retries included) and Ref
// by d, and returns r.
func (r *Object) WithTimeout(d time.Duration) *Object {
	r.timeout = d
	return r
}

func (r *Object) resource() dynamic.ResourceInterface {
	return r.client.Resource(r.gvr).Namespace(r.namespace)
}

// String names the object: "HTTPRoute ns/name".
func (r *Object) String() string { return r.shape.kind + " " + r.namespace + "/" + r.name }

// Ref identifies the object, for Kubernetes events about it.
func (r *Object) Ref(ctx context.Context) (*corev1.ObjectReference, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	obj, err := r.resource().Get(ctx, r.name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("getting %s: %w", r, err)
	}
	return &corev1.ObjectReference{
		APIVersion: obj.GetAPIVersion(), Kind: obj.GetKind(),
		Namespace: obj.GetNamespace(), Name: obj.GetName(), UID: obj.GetUID(),
		ResourceVersion: obj.GetResourceVersion(),
	}, nil
}

// Get returns the split of the object's routes.
func (r *Object) Get(ctx context.Context) (split.Split, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	obj, err := r.resource().Get(ctx, r.name, metav1.GetOptions{})
	if err != nil {
		return split.Split{}, fmt.Errorf("getting %s: %w", r, err)
	}
	return r.read(obj)
}

// Set writes s to every route to the targets, in one update. A split that
// is not valid or does not name the targets in order is refused before
// anything is read.
func (r *Object) Set(ctx context.Context, s split.Split) (split.Split, error) {
	if err := s.Validate(); err != nil {
		return split.Split{}, err
	}
	if err := r.fits(s); err != nil {
		return split.Split{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var old split.Split
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := r.resource().Get(ctx, r.name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("getting %s: %w", r, err)
		}
		cur, err := r.read(obj)
		if err != nil && !errors.Is(err, ErrInconsistent) {
			return err
		}
		old = cur
		if err == nil && cur == s {
			return nil
		}
		if err := r.write(obj, s); err != nil {
			return err
		}
		_, err = r.resource().Update(ctx, obj, metav1.UpdateOptions{
			FieldManager:    fieldManager,
			FieldValidation: metav1.FieldValidationStrict,
		})
		return err // a Conflict here is retried with a fresh read
	})
	if err != nil {
		return old, fmt.Errorf("updating %s: %w", r, err)
	}
	return old, nil
}
