// Package capacity counts the ready workers of a cluster from the
// EndpointSlices of the worker Service (those labelled
// kubernetes.io/service-name with its name, in one namespace). In primary
// an informer follows them (Endpoints): multiplied by what one endpoint
// serves, that is the live capacity the spillover strategy keeps. In the
// burst cluster they are listed at each decision (List), so that no weight
// goes there while it has no ready worker, or its API cannot be reached.
package capacity

import (
	"context"
	"errors"
	"fmt"
	"time"

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

// Ready is the number of distinct ready endpoints (countReady).
func (e *Endpoints) Ready() (int, error) {
	if !e.synced() {
		return 0, ErrNotSynced
	}
	slices, err := e.lister.List(e.selector)
	if err != nil {
		return 0, fmt.Errorf("listing the worker's EndpointSlices: %w", err)
	}
	return countReady(slices), nil
}

// Capacity is ready endpoints × the rate one serves, and the count.
func (e *Endpoints) Capacity() (rps float64, ready int, err error) {
	ready, err = e.Ready()
	return float64(ready) * e.perEndpoint, ready, err
}

// countReady counts the distinct endpoints of slices that are ready: unless
// their ready condition is false (the API's rule for a missing condition);
// one listed in two slices (during a slice's replacement) counts once.
func countReady(slices []*discoveryv1.EndpointSlice) int {
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
	return len(seen)
}

// List counts a Service's ready endpoints in another cluster by listing its
// EndpointSlices at each call, so an API server that cannot be reached is
// an error at once, never a stale count.
type List struct {
	cs       kubernetes.Interface
	ns       string
	selector string
	timeout  time.Duration
}

// NewList counts the ready endpoints of Service service in namespace ns
// through cs, each list bounded by timeout. Its client needs list on
// endpointslices in ns.
func NewList(cs kubernetes.Interface, ns, service string, timeout time.Duration) *List {
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: service})
	return &List{cs: cs, ns: ns, selector: sel.String(), timeout: timeout}
}

// Ready lists the Service's EndpointSlices now and counts the ready
// endpoints.
func (l *List) Ready(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	list, err := l.cs.DiscoveryV1().EndpointSlices(l.ns).List(ctx, metav1.ListOptions{LabelSelector: l.selector})
	if err != nil {
		return 0, fmt.Errorf("listing the worker's EndpointSlices: %w", err)
	}
	slices := make([]*discoveryv1.EndpointSlice, len(list.Items))
	for i := range list.Items {
		slices[i] = &list.Items[i]
	}
	return countReady(slices), nil
}
