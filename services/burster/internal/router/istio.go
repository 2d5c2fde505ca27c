package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// VirtualServices is the resource the Istio router changes: Istio's v1 API.
var VirtualServices = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}

// ErrUnsupportedRoute is returned for a VirtualService the router will not
// change: no route to both subsets, or a route that mixes them with others.
var ErrUnsupportedRoute = errors.New("unsupported VirtualService routes")

// fieldManager names the burster in managedFields and audit logs.
const fieldManager = "burster"

// Istio moves the weights of one VirtualService. It reads and writes the
// object unstructured, so every field it does not manage (other routes,
// matches, retries, fields newer than this code) is written back exactly as
// the API server returned it. Writes carry the resourceVersion they were
// based on and are retried on conflict.
type Istio struct {
	client               dynamic.Interface
	namespace, name      string
	primarySub, burstSub string
}

// NewIstio returns a router for the VirtualService namespace/name whose
// routes send to the subsets primary and burst.
func NewIstio(client dynamic.Interface, namespace, name, primary, burst string) *Istio {
	return &Istio{client: client, namespace: namespace, name: name, primarySub: primary, burstSub: burst}
}

func (r *Istio) resource() dynamic.ResourceInterface {
	return r.client.Resource(VirtualServices).Namespace(r.namespace)
}

// Ref identifies the VirtualService, for Kubernetes events about it.
func (r *Istio) Ref(ctx context.Context) (*corev1.ObjectReference, error) {
	obj, err := r.resource().Get(ctx, r.name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("getting VirtualService %s/%s: %w", r.namespace, r.name, err)
	}
	return &corev1.ObjectReference{
		APIVersion: obj.GetAPIVersion(), Kind: obj.GetKind(),
		Namespace: obj.GetNamespace(), Name: obj.GetName(), UID: obj.GetUID(),
		ResourceVersion: obj.GetResourceVersion(),
	}, nil
}

// Get returns the split of the VirtualService's routes.
func (r *Istio) Get(ctx context.Context) (split.Split, error) {
	obj, err := r.resource().Get(ctx, r.name, metav1.GetOptions{})
	if err != nil {
		return split.Split{}, fmt.Errorf("getting VirtualService %s/%s: %w", r.namespace, r.name, err)
	}
	return r.read(obj)
}

// Set writes s to every route to the two subsets.
func (r *Istio) Set(ctx context.Context, s split.Split) (split.Split, error) {
	if err := s.Validate(); err != nil {
		return split.Split{}, err
	}
	var old split.Split
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := r.resource().Get(ctx, r.name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("getting VirtualService %s/%s: %w", r.namespace, r.name, err)
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
		return old, fmt.Errorf("updating VirtualService %s/%s: %w", r.namespace, r.name, err)
	}
	return old, nil
}

// Watch reports the split after every change of the one VirtualService. The
// informer lists and watches with a field selector on its name, which a
// Role limited to that name by resourceNames permits.
func (r *Istio) Watch(ctx context.Context, onChange func(split.Split, error)) error {
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(r.client, 10*time.Minute, r.namespace,
		func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", r.name).String()
		})
	inf := factory.ForResource(VirtualServices).Informer()
	report := func(o any) {
		if u, ok := o.(*unstructured.Unstructured); ok {
			onChange(r.read(u))
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    report,
		UpdateFunc: func(_, o any) { report(o) },
	}); err != nil {
		return fmt.Errorf("watching VirtualService %s/%s: %w", r.namespace, r.name, err)
	}
	inf.RunWithContext(ctx)
	return nil
}
