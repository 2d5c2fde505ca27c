// Package runner runs one BurstPolicy: it builds the measurements, the
// policy, the router and the readiness gate its spec names, drives the
// control loop (package controller) one step at a time, and reports what
// the loop knows as the policy's status. The operator keeps one Runner per
// policy; a Runner carries on from the status an earlier leader wrote.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/capacity"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/config"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/controller"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/prescale"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

// ErrUnsupported is a policy this burster cannot run, though the API
// server accepted it.
var ErrUnsupported = errors.New("unsupported policy")

// Deps are what a Runner reaches the world through.
type Deps struct {
	// Dynamic reads and writes the routes; Clientset reads this cluster's
	// EndpointSlices. Both nil for a policy on the local mesh.
	Dynamic   dynamic.Interface
	Clientset kubernetes.Interface
	// Kubeconfig returns a key of a Secret in the policy's namespace: a
	// kubeconfig for a destination's cluster.
	Kubeconfig func(ctx context.Context, namespace, name, key string) ([]byte, error)
	// Events records an event about the policy; nil: logs only.
	Events func(p *v1alpha1.BurstPolicy) controller.Recorder
	// Metrics is where the policy's metrics are registered, labelled
	// with it.
	Metrics prometheus.Registerer
	Log     *slog.Logger
	// Watched: every change of the route brings a step (the operator's
	// cache watches the routes). Otherwise each due step reads the route
	// back after its tick, to find weights someone else moved.
	Watched bool
}

// Runner is one policy's control loop.
type Runner struct {
	// Generation is the spec's generation the Runner was built from: a
	// new one needs a new Runner.
	Generation int64
	interval   time.Duration
	view       View
	ctrl       *controller.Controller
	metrics    *controller.Metrics
	resume     v1alpha1.BurstPolicyStatus

	ctx    context.Context // the Runner's life: the status measurements outlive a step
	cancel context.CancelFunc
	bg     sync.WaitGroup

	mu       sync.Mutex // guards began and beginErr, which Status reads
	began    bool
	beginErr error     // why the last Begin failed; nil once begun
	next     time.Time // when the next tick is due
	watched  bool      // Deps.Watched
	// quickGate: the destinations' readiness is the router's own (the
	// local mesh), cheap enough to read between steps (Stranded).
	quickGate bool
	hurried   time.Time // when Hurry last brought a step
	log       *slog.Logger
}

// New builds the Runner for p, from its spec and the status it resumes
// from. Its background work (watches of EndpointSlices, the status
// measurements) runs until Stop.
func New(ctx context.Context, p *v1alpha1.BurstPolicy, d Deps) (*Runner, error) {
	p = p.DeepCopy()
	p.Default()
	if errs := p.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("invalid policy: %w", errs.ToAggregate())
	}
	s := &p.Spec
	if s.Destinations[0].Name != source.Primary || s.Destinations[1].Name != source.Burst {
		// The measurements name the clusters primary and burst.
		return nil, fmt.Errorf("%w: the first two destinations must be named %s and %s, in that order", ErrUnsupported, source.Primary, source.Burst)
	}
	if err := perDestination(s); err != nil {
		return nil, err
	}
	timeout, _ := s.Timeout.Duration()
	interval, _ := s.Interval.Duration()
	log := d.Log.With("policy", key(p))

	pcfg := policyConfig(s)
	pol, err := policy.New(pcfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	scfg := sourceConfig(s, timeout, interval)
	srcs, err := source.New(scfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	rt, route, err := newRouter(p, d, timeout)
	if err != nil {
		return nil, err
	}
	metrics := controller.NewPolicyMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"policy": key(p)}, d.Metrics))
	cfg := controller.Config{
		Source: srcs.Rate, Destinations: srcs.Destinations, Latency: srcs.Latency, Budget: srcs.Budget, Security: srcs.Security,
		Router: rt, Policy: pol, Metrics: metrics, Interval: interval, DryRun: s.DryRun, Log: log,
	}
	if scfg.LatencyWindow > 0 {
		cfg.SLO = &controller.SLO{LatencyMS: s.Strategy.SLO.LatencyMS, Target: s.Strategy.SLO.Target, WindowSeconds: scfg.LatencyWindow.Seconds()}
	}
	if d.Events != nil {
		cfg.Events = d.Events(p)
	}
	r := &Runner{Generation: p.Generation, interval: interval, resume: p.Status, metrics: metrics, watched: d.Watched, log: log,
		view: View{Names: names(s.Destinations), Route: route, resumed: p.Status.Changes}, quickGate: s.Route.LocalMesh != nil}
	r.ctx, r.cancel = context.WithCancel(ctx)
	if err := r.gate(p, d, &cfg, rt, timeout); err != nil {
		r.Stop()
		return nil, err
	}
	r.ctrl = controller.New(cfg)
	return r, nil
}

// names are the destinations' names in spill order.
func names(ds []v1alpha1.Destination) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Name
	}
	return out
}

// perDestination refuses, beyond two destinations, the measurements that
// know primary and burst alone: each destination's traffic, error budget
// and security (the latency is measured for each destination).
func perDestination(s *v1alpha1.BurstPolicySpec) error {
	if len(s.Destinations) <= 2 {
		return nil
	}
	var set []string
	if p := s.Measurement.Prometheus; p != nil {
		for _, q := range []struct{ name, v string }{{"destinationsQuery", p.DestinationsQuery},
			{"budgetQuery", p.BudgetQuery}, {"securityQuery", p.SecurityQuery}} {
			if q.v != "" {
				set = append(set, "measurement.prometheus."+q.name)
			}
		}
	}
	if m := s.Measurement.Scrape; m != nil && m.DestinationLabel != "" && m.LatencyMetric == "" {
		set = append(set, "measurement.scrape.destinationLabel (it serves the latency alone: set latencyMetric)")
	}
	if len(set) > 0 {
		return fmt.Errorf("%w: with more than two destinations the burster measures the rate and each destination's latency, not its traffic, error budget or security: unset %s",
			ErrUnsupported, strings.Join(set, ", "))
	}
	return nil
}

// key names the policy in logs and metrics: namespace/name, or its name
// alone when it has no namespace (read from a file).
func key(p *v1alpha1.BurstPolicy) string {
	if p.Namespace == "" {
		return p.Name
	}
	return p.Namespace + "/" + p.Name
}

// gate wires the readiness of the destinations into cfg: home's ready
// workers as its capacity (spillover), the next one's as the gate that
// keeps weight off it while it has none, and its pre-scaling.
func (r *Runner) gate(p *v1alpha1.BurstPolicy, d Deps, cfg *controller.Config, rt router.Router, timeout time.Duration) error {
	s := &p.Spec
	st := &s.Strategy
	if home := s.Destinations[0].Readiness; home != nil && home.Service != "" &&
		st.Type == v1alpha1.StrategySpillover && st.CapacityPerEndpointRPS > 0 {
		if d.Clientset == nil || home.KubeconfigSecret != nil {
			return fmt.Errorf("%w: home's capacity is read from a Service in this cluster", ErrUnsupported)
		}
		ep, err := capacity.New(d.Clientset, p.Namespace, home.Service, st.CapacityPerEndpointRPS)
		if err != nil {
			return err
		}
		r.bg.Go(func() { ep.Run(r.ctx) })
		cfg.Capacity = ep
	}
	next := s.Destinations[1]
	if len(s.Destinations) > 2 {
		cfg.BurstCapacity = controller.AwayCapacity{RPS: next.CapacityRPS}
		if next.Readiness != nil && next.Readiness.Service != "" {
			cfg.BurstCapacity.PerEndpointRPS = st.CapacityPerEndpointRPS
		}
	}
	for _, f := range s.Destinations[2:] {
		further, err := r.further(p, d, rt, f, timeout)
		if err != nil {
			return err
		}
		cfg.Further = append(cfg.Further, further)
	}
	if next.Readiness == nil {
		return nil
	}
	if next.Readiness.FromRouter {
		ready, err := fromRouter(rt, next.Name)
		if err != nil {
			return err
		}
		cfg.Burst = ready
		return nil
	}
	cs := d.Clientset
	if ref := next.Readiness.KubeconfigSecret; ref != nil {
		var err error
		if cs, err = remote(r.ctx, d, p.Namespace, ref, timeout); err != nil {
			return err
		}
	}
	if cs == nil {
		return fmt.Errorf("%w: no Kubernetes API to read %s's readiness from", ErrUnsupported, next.Name)
	}
	cfg.Burst = capacity.NewList(cs, p.Namespace, next.Readiness.Service, timeout)
	cfg.Prescale = prescaler(cs, p, next.Prescale, timeout)
	return nil
}

// prescaler is the pre-scaling of a destination whose cluster cs reaches,
// as ps says; nil when it has none.
func prescaler(cs kubernetes.Interface, p *v1alpha1.BurstPolicy, ps *v1alpha1.Prescale, timeout time.Duration) *controller.Prescale {
	if ps == nil {
		return nil
	}
	st := &p.Spec.Strategy
	cooldown, _ := ps.Cooldown.Duration()
	wait, _ := ps.Wait.Duration()
	high := st.HighRPS
	if st.Type == v1alpha1.StrategySLO {
		// No rate moves the split under slo: from warmRps on, the
		// destination is readied for the whole rate.
		high = ps.WarmRPS
	}
	return &controller.Prescale{Scaler: prescale.New(cs, p.Namespace, ps.HPA, timeout), WarmRPS: ps.WarmRPS, HighRPS: high,
		PerEndpointRPS: st.CapacityPerEndpointRPS, Cooldown: cooldown, Wait: wait}
}

// further wires a destination after burst: its readiness, read from a
// Service (in this cluster or the one its kubeconfig Secret reaches), its
// capacity and its pre-scaling (of an HPA in the same cluster).
func (r *Runner) further(p *v1alpha1.BurstPolicy, d Deps, rt router.Router, dest v1alpha1.Destination, timeout time.Duration) (controller.Further, error) {
	f := controller.Further{Name: dest.Name, Capacity: controller.AwayCapacity{RPS: dest.CapacityRPS}}
	rd := dest.Readiness
	if rd == nil {
		return f, nil
	}
	if rd.FromRouter {
		ready, err := fromRouter(rt, dest.Name)
		f.Ready = ready
		return f, err
	}
	cs := d.Clientset
	if ref := rd.KubeconfigSecret; ref != nil {
		var err error
		if cs, err = remote(r.ctx, d, p.Namespace, ref, timeout); err != nil {
			return f, err
		}
	}
	if cs == nil {
		return f, fmt.Errorf("%w: no Kubernetes API to read %s's readiness from", ErrUnsupported, dest.Name)
	}
	f.Ready = capacity.NewList(cs, p.Namespace, rd.Service, timeout)
	f.Capacity.PerEndpointRPS = p.Spec.Strategy.CapacityPerEndpointRPS
	f.Prescale = prescaler(cs, p, dest.Prescale, timeout)
	return f, nil
}

// fromRouter is the destination's readiness as the router finds it: the
// local mesh alone tells it.
func fromRouter(rt router.Router, name string) (controller.BurstReadiness, error) {
	mesh, ok := rt.(*router.LocalMesh)
	if !ok {
		return nil, fmt.Errorf("%w: %s: only the local mesh tells its backends' readiness (fromRouter)", ErrUnsupported, name)
	}
	return mesh.Endpoints(name), nil
}

// remote is a client of the cluster a kubeconfig Secret reaches.
func remote(ctx context.Context, d Deps, ns string, ref *v1alpha1.SecretKeyRef, timeout time.Duration) (kubernetes.Interface, error) {
	if d.Kubeconfig == nil {
		return nil, fmt.Errorf("%w: no Kubernetes API to read Secret %s from", ErrUnsupported, ref.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b, err := d.Kubeconfig(ctx, ns, ref.Name, ref.Key)
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig in Secret %s: %w", ref.Name, err)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(b)
	if err != nil {
		// The parser's words may quote the Secret: the log has them, the
		// policy's status (which more may read) does not.
		d.Log.Error("a kubeconfig Secret holds no usable kubeconfig", "secret", ref.Name, "key", ref.Key, "err", err)
		return nil, fmt.Errorf("%w: Secret %s key %s holds no usable kubeconfig", ErrUnsupported, ref.Name, ref.Key)
	}
	rc.UserAgent = "burster"
	return kubernetes.NewForConfig(rc)
}

// newRouter is the router of the policy's route, and the route as
// kind/name.
func newRouter(p *v1alpha1.BurstPolicy, d Deps, timeout time.Duration) (router.Router, string, error) {
	r, ds := p.Spec.Route, p.Spec.Destinations
	switch {
	case r.LocalMesh != nil && d.Dynamic != nil:
		// Whoever may write a policy must not make the burster send
		// requests to any address it can reach.
		return nil, "", fmt.Errorf("%w: the local mesh is the demo's route: run it from a file (POLICIES=file)", ErrUnsupported)
	case r.LocalMesh != nil:
		return router.NewLocalMesh(r.LocalMesh.AdminURL, timeout), "LocalMesh/" + r.LocalMesh.AdminURL, nil
	case d.Dynamic == nil:
		return nil, "", fmt.Errorf("%w: no Kubernetes API to write the route to", ErrUnsupported)
	case r.VirtualService != nil:
		return router.NewIstio(d.Dynamic, p.Namespace, r.VirtualService.Name, targets(ds, func(d v1alpha1.Destination) string { return d.Subset })).WithTimeout(timeout),
			"VirtualService/" + r.VirtualService.Name, nil
	default:
		return router.NewGatewayAPI(d.Dynamic, p.Namespace, r.HTTPRoute.Name, targets(ds, func(d v1alpha1.Destination) string { return d.BackendRef })).WithTimeout(timeout),
			"HTTPRoute/" + r.HTTPRoute.Name, nil
	}
}

// targets are the destinations as the route names them, in spill order.
func targets(ds []v1alpha1.Destination, ref func(v1alpha1.Destination) string) []router.Target {
	out := make([]router.Target, len(ds))
	for i, d := range ds {
		out[i] = router.Target{Name: d.Name, Ref: ref(d)}
	}
	return out
}

// policyConfig is the policy's part of a defaulted spec.
func policyConfig(s *v1alpha1.BurstPolicySpec) policy.Config {
	st, o := &s.Strategy, s.Strategy.SLO
	dwell, _ := s.MinDwell.Duration()
	window, _ := o.Window.Duration()
	probe, _ := o.Probe.Duration()
	failSafe := policy.FailSafeHold
	if s.FailSafe == v1alpha1.FailSafeHome {
		failSafe = policy.FailSafePrimary
	}
	return policy.Config{
		Strategy: policy.StrategyName(st.Type), HighRPS: st.HighRPS, LowRPS: *st.LowRPS, Step: int(st.Step),
		CapacityRPS: st.CapacityRPS, MinDwell: dwell, FailureThreshold: int(s.FailureThreshold), FailSafe: failSafe,
		SLOLatency: time.Duration(o.LatencyMS * float64(time.Millisecond)), SLOTarget: o.Target, SLOWindow: window,
		SLOMinRequests: o.MinRequests, SLOProbe: probe, SLOHeadroom: o.Headroom,
	}
}

// sourceConfig is the measurements' part of a defaulted spec: a query left
// empty is Istio's for the route's kind, as with the environment's
// configuration. The latency is measured under slo, and under another
// strategy when a latency query or metric is given (for the status).
func sourceConfig(s *v1alpha1.BurstPolicySpec, timeout, interval time.Duration) source.Config {
	o := s.Strategy.SLO
	window, _ := o.Window.Duration()
	slo := s.Strategy.Type == v1alpha1.StrategySLO
	if p := s.Measurement.Prometheus; p != nil {
		scrape, _ := p.ScrapeInterval.Duration()
		c := source.Config{Kind: source.KindPrometheus, Timeout: timeout, PrometheusURL: p.URL, Query: p.Query,
			DestinationsQuery: p.DestinationsQuery, SecurityQuery: p.SecurityQuery, Names: names(s.Destinations)}
		if c.Query == "" {
			c.Query = config.DefaultQuery
		}
		if slo || p.LatencyQuery != "" {
			c.LatencyQuery, c.BudgetQuery = p.LatencyQuery, p.BudgetQuery
			if c.LatencyQuery == "" {
				c.LatencyQuery = config.DefaultSLOQuery
				if s.Route.HTTPRoute != nil {
					c.LatencyQuery = config.DefaultSLOQueryGatewayAPI
				}
			}
			if c.BudgetQuery == "" && len(s.Destinations) <= 2 {
				c.BudgetQuery = config.DefaultBudgetQuery
			}
			c.LatencyWindow, c.RecentWindow = window, config.RecentPrometheusScrapes*scrape
			c.Objective, c.Target = o.LatencyMS, o.Target
		}
		return c
	}
	m := s.Measurement.Scrape
	c := source.Config{Kind: source.KindScrape, Timeout: timeout, ScrapeURL: m.URL, ScrapeMetric: m.Metric,
		ScrapeLabels: labels(m.Labels), ScrapeDestinationLabel: m.DestinationLabel, ScrapeCodeLabel: m.CodeLabel, Names: names(s.Destinations)}
	c.ScrapeWindow, _ = m.Window.Duration()
	if slo || m.LatencyMetric != "" {
		c.LatencyMetric = m.LatencyMetric
		c.LatencyWindow, c.RecentWindow = window, config.RecentOwnScrapes*interval
		c.Objective, c.Target = o.LatencyMS, o.Target
	}
	return c
}

// labels writes label matchers as the scrape source reads them:
// name=value,... in name order.
func labels(m map[string]string) string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// Step is one step of the loop, due at the policy's interval: the first
// begins the term from the route's weights and what the status recorded;
// a step that is due measures, decides and acts; one that is not (a change
// of the route brought it) puts the weights back if someone else moved
// them. It returns the time until the next step is due.
func (r *Runner) Step(ctx context.Context, now time.Time) time.Duration {
	if !r.began {
		err := r.ctrl.Begin(ctx)
		if err != nil {
			if r.beginErr == nil || router.Classify(err) != router.Classify(r.beginErr) {
				// Once as it starts failing (or fails otherwise), not
				// each interval.
				r.log.Error("reading the route's weights: trying again each interval", "route", r.view.Route, "err", err)
			}
			r.mu.Lock()
			r.beginErr = err
			r.mu.Unlock()
			return r.interval
		}
		var last time.Time
		if t := r.resume.LastChangeTime; t != nil {
			last = t.Time
		}
		var capacity float64
		if c := r.resume.LearnedCapacityRPS; c != nil {
			capacity = *c
		}
		r.ctrl.Resume(last, capacity)
		r.mu.Lock()
		r.beginErr, r.began = nil, true
		r.mu.Unlock()
	}
	if now.Before(r.next) {
		r.ctrl.CheckDrift(ctx)
		return r.next.Sub(now)
	}
	// Due on the interval's beat, as a ticker would be, not an interval
	// after each step's end; a beat missed (a slow step) is skipped.
	r.next = r.next.Add(r.interval)
	if !r.next.After(now) {
		r.next = now.Add(r.interval)
	}
	// The tick's status measurements run on beyond this step: under the
	// Runner's context, cut short only by Stop.
	r.ctrl.Tick(r.ctx)
	if !r.watched && ctx.Err() == nil {
		r.ctrl.CheckDrift(ctx)
	}
	// Never 0: a reconcile asked to requeue after 0 is not requeued.
	return max(time.Until(r.next), time.Millisecond)
}

// Stranded reports whether a destination carrying traffic has lost its
// last ready worker since the last step, when its readiness is the local
// mesh's (cheap to read between steps; false otherwise): Hurry then makes
// the next step due at once, so its share leaves it within a fraction of
// the interval. A share that could not be moved (the route could not be
// written) is not hurried again within the interval. Call it from the
// goroutine that calls Step.
func (r *Runner) Stranded(ctx context.Context) bool {
	if !r.quickGate || !r.began || time.Since(r.hurried) < r.interval {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, quickGateTimeout)
	defer cancel()
	return r.ctrl.Stranded(ctx)
}

// quickGateTimeout bounds Stranded's reads: a step due meanwhile waits no
// longer.
const quickGateTimeout = 100 * time.Millisecond

// Hurry makes the next Step due at once; the steps' beat starts again from
// it.
func (r *Runner) Hurry() { r.next, r.hurried = time.Time{}, time.Now() }

// Stop ends the Runner's background work, waits for it and removes its
// metrics.
func (r *Runner) Stop() {
	r.cancel()
	if r.ctrl != nil {
		r.ctrl.Wait()
	}
	r.bg.Wait()
	r.metrics.Unregister()
}
