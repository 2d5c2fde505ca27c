package operator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/controller"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/runner"
)

// statusRefresh is how often the measured values alone (the rate, each
// destination's traffic and SLI) are written to a policy's status. A
// change of the weights, of the last change, of the learned capacity or of
// a condition is written at once; the rate moves every interval, and
// writing it every second for every policy would load the API server for
// no decision (the HTTP status and the metrics carry it live).
const statusRefresh = 10 * time.Second

// concurrentPolicies is how many policies are stepped at once. A step's
// calls are each bounded by its policy's timeout, but a policy whose
// Prometheus hangs takes a few timeouts a step: stepped beside the others,
// it holds up none of them.
const concurrentPolicies = 8

// routeIndex indexes the policies by the route they name, kind/name, so a
// change of a route finds its policies.
const routeIndex = "spec.route"

// routeKinds are the kinds of route a policy can name, as the cache
// watches them.
var routeKinds = map[string]schema.GroupVersionKind{
	"VirtualService": {Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"},
	"HTTPRoute":      {Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"},
}

// reconciler steps each policy's Runner.
type reconciler struct {
	client  client.Client // the cache: policies, routes
	api     client.Reader // the API server: Secrets are not cached
	deps    runner.Deps
	events  events.EventRecorder
	log     *slog.Logger
	base    context.Context // the Runners' background work lives as long as this
	mu      sync.Mutex
	runners map[types.NamespacedName]*entry
	// cannot is why each policy that cannot run last could not, as
	// logged: a policy tried again each interval is logged when its
	// reason changes, not each time.
	cannot map[types.NamespacedName]string
}

// entry is one policy's Runner and when its status was last written.
type entry struct {
	run     *runner.Runner
	written time.Time
}

func newReconciler(ctx context.Context, mgr manager.Manager, cfg Config) (*reconciler, error) {
	rc := mgr.GetConfig()
	dc, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("creating the dynamic client: %w", err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("creating the client: %w", err)
	}
	r := &reconciler{client: mgr.GetClient(), api: mgr.GetAPIReader(), events: mgr.GetEventRecorder("burster"), log: cfg.Log,
		base: ctx, runners: map[types.NamespacedName]*entry{}}
	r.deps = runner.Deps{Dynamic: dc, Clientset: cs, Kubeconfig: r.kubeconfig, Metrics: cfg.Metrics, Log: cfg.Log, Watched: true,
		Events: func(p *v1alpha1.BurstPolicy) controller.Recorder { return policyEvents{r.events, p} }}

	// Every mapping below asks the API server: wait until it answers.
	if ok, err := served(ctx, mgr.GetRESTMapper(), v1alpha1.GroupVersion.WithKind(v1alpha1.Kind), cfg.Log); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("the API server does not serve %s %s: apply its CRD (k8s/base/crd)", v1alpha1.Kind, v1alpha1.GroupVersion)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.BurstPolicy{}, routeIndex, func(o client.Object) []string {
		if key := routeKey(o.(*v1alpha1.BurstPolicy)); key != "" {
			return []string{key}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("indexing the policies by route: %w", err)
	}
	b := ctrl.NewControllerManagedBy(mgr).Named("burstpolicy").
		// One process may run more than one manager: the tests run
		// replicas side by side.
		WithOptions(crcontroller.Options{SkipNameValidation: ptr(true), MaxConcurrentReconciles: concurrentPolicies}).
		// Its own status writes change no generation: they bring no
		// reconcile.
		For(&v1alpha1.BurstPolicy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	for kind, gvk := range routeKinds {
		ok, err := served(ctx, mgr.GetRESTMapper(), gvk, cfg.Log)
		if err != nil {
			return nil, err
		}
		if !ok {
			// Its CRDs are not installed: no policy can name one.
			cfg.Log.Info("not watching a kind of route the API server does not serve", "kind", kind)
			continue
		}
		route := &unstructured.Unstructured{}
		route.SetGroupVersionKind(gvk)
		b = b.Watches(route, handler.EnqueueRequestsFromMapFunc(r.policiesOf(kind)))
	}
	if err := b.Complete(r); err != nil {
		return nil, fmt.Errorf("creating the controller: %w", err)
	}
	return r, nil
}

// discoveryRetry is the wait between two attempts to learn which kinds
// the API server serves, while it cannot be asked.
const discoveryRetry = 2 * time.Second

// served says whether the API server serves gvk, asking until it answers
// (or ctx is done): a kind it does not serve is never watched, so an API
// server that cannot be reached must not be taken for one without routes.
func served(ctx context.Context, mapper meta.RESTMapper, gvk schema.GroupVersionKind, log *slog.Logger) (bool, error) {
	for logged := false; ; logged = true {
		_, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		switch {
		case err == nil:
			return true, nil
		case meta.IsNoMatchError(err):
			return false, nil
		case !logged:
			log.Warn("cannot ask the API server which kinds it serves: trying again", "kind", gvk.Kind, "every", discoveryRetry, "err", err)
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("asking the API server for %s: %w", gvk.Kind, err)
		case <-time.After(discoveryRetry):
		}
	}
}

// routeKey is the route a policy names, kind/name; "" for the local mesh.
func routeKey(p *v1alpha1.BurstPolicy) string {
	switch r := p.Spec.Route; {
	case r.VirtualService != nil:
		return "VirtualService/" + r.VirtualService.Name
	case r.HTTPRoute != nil:
		return "HTTPRoute/" + r.HTTPRoute.Name
	}
	return ""
}

// policiesOf maps a route of kind to the policies that name it.
func (r *reconciler) policiesOf(kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var list v1alpha1.BurstPolicyList
		if err := r.client.List(ctx, &list, client.InNamespace(o.GetNamespace()),
			client.MatchingFields{routeIndex: kind + "/" + o.GetName()}); err != nil {
			r.log.Error("finding the policies of a route", "kind", kind, "name", o.GetName(), "err", err)
			return nil
		}
		out := make([]reconcile.Request, len(list.Items))
		for i, p := range list.Items {
			out[i] = reconcile.Request{NamespacedName: types.NamespacedName{Namespace: p.Namespace, Name: p.Name}}
		}
		return out
	}
}

// Reconcile steps the policy's Runner, building it first (again, when the
// spec changed), and writes its status. A policy that cannot run says why
// in its conditions and is tried again each interval; it holds up no other.
func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var p v1alpha1.BurstPolicy
	if err := r.client.Get(ctx, req.NamespacedName, &p); err != nil {
		if apierrors.IsNotFound(err) {
			r.drop(req.NamespacedName)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	e, err := r.entry(req.NamespacedName, &p)
	if err != nil {
		if r.cannotRun(req.NamespacedName, err) {
			r.log.Warn("the policy cannot run", "policy", req.String(), "err", err)
		}
		status := runner.FailedStatus(p.Status, p.Generation, err)
		if werr := r.writeStatus(ctx, &p, status); werr != nil {
			return reconcile.Result{}, werr
		}
		return reconcile.Result{RequeueAfter: interval(&p)}, nil
	}
	wait := e.run.Step(ctx, time.Now())
	status := e.run.Status(p.Status, p.Generation)
	if time.Since(e.written) >= statusRefresh || !bytes.Equal(decisive(status), decisive(p.Status)) {
		if err := r.writeStatus(ctx, &p, status); err != nil {
			return reconcile.Result{}, err
		}
		e.written = time.Now()
	}
	return reconcile.Result{RequeueAfter: wait}, nil
}

// cannotRun records why the policy cannot run and reports whether that
// is news: the first reason, or another than the last.
func (r *reconciler) cannotRun(key types.NamespacedName, err error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cannot == nil {
		r.cannot = make(map[types.NamespacedName]string)
	}
	news := r.cannot[key] != err.Error()
	r.cannot[key] = err.Error()
	return news
}

// entry is the policy's Runner, built now if it has none or one of an
// older generation.
func (r *reconciler) entry(key types.NamespacedName, p *v1alpha1.BurstPolicy) (*entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.runners[key]
	if e != nil && e.run.Generation == p.Generation {
		return e, nil
	}
	if e != nil {
		e.run.Stop()
		delete(r.runners, key)
	}
	run, err := runner.New(r.base, p, r.deps)
	if err != nil {
		return nil, err
	}
	delete(r.cannot, key)
	e = &entry{run: run}
	r.runners[key] = e
	return e, nil
}

// runner is the policy's Runner of generation, if it has one.
func (r *reconciler) runner(key types.NamespacedName, generation int64) *runner.Runner {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.runners[key]; e != nil && e.run.Generation == generation {
		return e.run
	}
	return nil
}

// drop stops the Runner of a deleted policy.
func (r *reconciler) drop(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.cannot, key)
	if e := r.runners[key]; e != nil {
		e.run.Stop()
		delete(r.runners, key)
	}
}

// stopAll stops every Runner, as the operator ends.
func (r *reconciler) stopAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for key, e := range r.runners {
		e.run.Stop()
		delete(r.runners, key)
	}
}

// writeStatus patches the policy's status to status, if it differs.
func (r *reconciler) writeStatus(ctx context.Context, p *v1alpha1.BurstPolicy, status v1alpha1.BurstPolicyStatus) error {
	if bytes.Equal(asJSON(p.Status), asJSON(status)) {
		return nil
	}
	orig := p.DeepCopy()
	p.Status = status
	// A hung API server costs this policy's step its timeout, not the
	// worker that steps it.
	ctx, cancel := context.WithTimeout(ctx, timeout(p))
	defer cancel()
	if err := r.client.Status().Patch(ctx, p, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("writing the status of %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// decisive is the part of a status that is written at once when it
// changes: all but the measured values, and the conditions without their
// messages (which carry figures). As JSON: times compare as the API
// server keeps them.
func decisive(s v1alpha1.BurstPolicyStatus) []byte {
	s.RateRPS, s.Destinations = nil, nil
	s.Conditions = append([]metav1.Condition(nil), s.Conditions...)
	for i := range s.Conditions {
		s.Conditions[i].Message = ""
	}
	return asJSON(s)
}

// asJSON is s as the API server stores it. The runner writes no value
// JSON cannot hold (NaN); were there one, the status write would fail and
// say so.
func asJSON(s v1alpha1.BurstPolicyStatus) []byte {
	b, _ := json.Marshal(s)
	return b
}

// kubeconfig reads a kubeconfig from a Secret, from the API server: the
// cache holds no Secrets.
func (r *reconciler) kubeconfig(ctx context.Context, ns, name, key string) ([]byte, error) {
	var s corev1.Secret
	if err := r.api.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &s); err != nil {
		return nil, err
	}
	b, ok := s.Data[key]
	if !ok {
		return nil, fmt.Errorf("secret %s has no key %s", name, key)
	}
	return b, nil
}

// interval is a policy's interval, for a policy that does not run.
func interval(p *v1alpha1.BurstPolicy) time.Duration {
	return orDefault(p.Spec.Interval, v1alpha1.DefaultInterval)
}

// timeout bounds each call made for a policy.
func timeout(p *v1alpha1.BurstPolicy) time.Duration {
	return orDefault(p.Spec.Timeout, v1alpha1.DefaultTimeout)
}

// orDefault is d, or def when d is unset or not positive (the API server
// fills in the default, so only a policy it never saw lacks one).
func orDefault(d, def v1alpha1.Duration) time.Duration {
	if v, err := d.Duration(); err == nil && v > 0 {
		return v
	}
	v, _ := def.Duration()
	return v
}

// policyEvents records the loop's events on its policy (events.k8s.io).
type policyEvents struct {
	rec events.EventRecorder
	p   *v1alpha1.BurstPolicy
}

func (e policyEvents) Event(eventtype, reason, message string) {
	e.rec.Eventf(e.p, nil, eventtype, reason, "Reconcile", "%s", message)
}
