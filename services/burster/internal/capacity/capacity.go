// Package capacity follows how many workers are ready in this cluster: it
// watches the EndpointSlices of the worker Service (those labelled
// kubernetes.io/service-name with its name, in one namespace) and counts the
// distinct ready endpoints. Multiplied by what one endpoint serves, that is
// the live capacity the spillover strategy keeps on primary.
package capacity

import (
	"context"
	"errors"
	"fmt"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// ErrNotSynced: the EndpointSlices have not been listed yet, so the number
// of ready endpoints is unknown (never read as zero).
var ErrNotSynced = errors.New("the worker's endpoints are not known yet")

// Endpoints counts the ready endpoints of one Service.
type Endpoints struct {
	perEndpoint float64
	selector    labels.Selector
	factory     informers.SharedInformerFactory
	lister      discoverylisters.EndpointSliceLister
	synced      cache.InformerSynced
}

// New follows the Service service in namespace ns; each ready endpoint
// serves perEndpoint requests per second. Its client needs list and watch
// on endpointslices in ns, nothing else.
func New(cs kubernetes.Interface, ns, service string, perEndpoint float64) (*Endpoints, error) {
	if service == "" || perEndpoint <= 0 {
		return nil, fmt.Errorf("capacity needs a Service name and a positive rate per endpoint, got %q and %v", service, perEndpoint)
	}
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: service})
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel.String() }))
	inf := f.Discovery().V1().EndpointSlices()
	e := &Endpoints{perEndpoint: perEndpoint, selector: sel, factory: f, lister: inf.Lister(), synced: inf.Informer().HasSynced}
	return e, nil
}

// Run watches until ctx is done.
func (e *Endpoints) Run(ctx context.Context) {
	e.factory.Start(ctx.Done())
	<-ctx.Done()
	e.factory.Shutdown()
}

// Ready is the number of distinct ready endpoints. An endpoint is ready
// unless its ready condition says false (the API's rule for a missing
// condition); one listed in two slices (during a slice's replacement) counts
// once.
func (e *Endpoints) Ready() (int, error) {
	if !e.synced() {
		return 0, ErrNotSynced
	}
	slices, err := e.lister.List(e.selector)
	if err != nil {
		return 0, fmt.Errorf("listing the worker's EndpointSlices: %w", err)
	}
	seen := map[string]bool{}
	for _, s := range slices {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			if len(ep.Addresses) > 0 { // one pod, whatever its addresses
				seen[ep.Addresses[0]] = true
			}
		}
	}
	return len(seen), nil
}

// Capacity is ready endpoints × the rate one serves, and the count.
func (e *Endpoints) Capacity() (rps float64, ready int, err error) {
	ready, err = e.Ready()
	return float64(ready) * e.perEndpoint, ready, err
}
