package v1alpha1

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// These mirror the schema's patterns (the markers on the types).
var (
	durationPattern = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$`)
	labelPattern    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	namePattern     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	urlPattern      = regexp.MustCompile(`^https?://`)
)

// The schema's bounds that Validate checks too.
const (
	minDestinations = 2
	maxDestinations = 8 // split.Max
	maxHeadroom     = 0.5
)

// Validate checks the policy, with its defaults filled in, by the rules
// the CRD's schema and CEL rules apply at admission, naming the same field
// for each problem: a policy read from a file (the demo) is refused as the
// API server would refuse it. It does no I/O.
func (p *BurstPolicy) Validate() field.ErrorList {
	p = p.DeepCopy()
	p.Default()
	spec := field.NewPath("spec")
	s := &p.Spec
	errs := validateRoute(spec.Child("route"), &s.Route)
	errs = append(errs, validateDestinations(spec.Child("destinations"), s)...)
	errs = append(errs, validateMeasurement(spec.Child("measurement"), &s.Measurement)...)
	errs = append(errs, validateStrategy(spec.Child("strategy"), &s.Strategy)...)
	errs = append(errs, positiveDuration(spec.Child("interval"), s.Interval)...)
	errs = append(errs, validDuration(spec.Child("minDwell"), s.MinDwell)...)
	errs = append(errs, positiveDuration(spec.Child("timeout"), s.Timeout)...)
	if s.FailureThreshold < 1 || s.FailureThreshold > 1000 {
		errs = append(errs, field.Invalid(spec.Child("failureThreshold"), s.FailureThreshold, "must be 1 to 1000"))
	}
	if !slices.Contains([]FailSafe{FailSafeHold, FailSafeHome}, s.FailSafe) {
		errs = append(errs, field.NotSupported(spec.Child("failSafe"), s.FailSafe, []FailSafe{FailSafeHold, FailSafeHome}))
	}
	return append(errs, validateWindow(spec, s)...)
}

func validateRoute(path *field.Path, r *Route) field.ErrorList {
	var errs field.ErrorList
	set := 0
	for _, has := range []bool{r.VirtualService != nil, r.HTTPRoute != nil, r.LocalMesh != nil} {
		if has {
			set++
		}
	}
	if set != 1 {
		errs = append(errs, field.Invalid(path, set, "exactly one of virtualService, httpRoute and localMesh must be set"))
	}
	if r.VirtualService != nil {
		errs = append(errs, validateName(path.Child("virtualService", "name"), r.VirtualService.Name)...)
	}
	if r.HTTPRoute != nil {
		errs = append(errs, validateName(path.Child("httpRoute", "name"), r.HTTPRoute.Name)...)
	}
	if r.LocalMesh != nil {
		errs = append(errs, validateURL(path.Child("localMesh", "adminURL"), r.LocalMesh.AdminURL)...)
	}
	return errs
}

func validateDestinations(path *field.Path, s *BurstPolicySpec) field.ErrorList {
	ds := s.Destinations
	var errs field.ErrorList
	switch {
	case len(ds) < minDestinations:
		return append(errs, field.Invalid(path, len(ds), fmt.Sprintf("must have at least %d items", minDestinations)))
	case len(ds) > maxDestinations:
		return append(errs, field.TooMany(path, len(ds), maxDestinations))
	}
	seen := map[string]bool{}
	for i, d := range ds {
		at := path.Index(i)
		if seen[d.Name] {
			errs = append(errs, field.Duplicate(at, d.Name))
		}
		seen[d.Name] = true
		if !labelPattern.MatchString(d.Name) || len(d.Name) > 63 {
			errs = append(errs, field.Invalid(at.Child("name"), d.Name, "must be a DNS label"))
		}
		if r := d.Readiness; r != nil {
			if (r.Service != "") == r.FromRouter {
				errs = append(errs, field.Invalid(at.Child("readiness"), r, "set exactly one of service and fromRouter"))
			}
			if r.KubeconfigSecret != nil && r.Service == "" {
				errs = append(errs, field.Invalid(at.Child("readiness", "kubeconfigSecret"), r.KubeconfigSecret.Name,
					"kubeconfigSecret reaches a cluster's Service: set service"))
			}
		}
		if ps := d.Prescale; ps != nil {
			if d.Readiness == nil || d.Readiness.Service == "" {
				errs = append(errs, field.Invalid(at.Child("prescale"), ps.HPA,
					"pre-scaling waits for the destination's ready workers: set readiness.service (in the HPA's cluster)"))
			}
			if !(ps.WarmRPS > 0) {
				errs = append(errs, field.Invalid(at.Child("prescale", "warmRps"), ps.WarmRPS, "must be above 0"))
			}
			errs = append(errs, validDuration(at.Child("prescale", "cooldown"), ps.Cooldown)...)
			errs = append(errs, positiveDuration(at.Child("prescale", "wait"), ps.Wait)...)
		}
	}
	st := &s.Strategy
	prescaled := slices.ContainsFunc(ds, func(d Destination) bool { return d.Prescale != nil })
	switch {
	case s.Route.VirtualService != nil && slices.ContainsFunc(ds, func(d Destination) bool { return d.Subset == "" }):
		errs = append(errs, field.Invalid(path, len(ds), "every destination needs a subset when the route is a VirtualService"))
	case s.Route.HTTPRoute != nil && slices.ContainsFunc(ds, func(d Destination) bool { return d.BackendRef == "" }):
		errs = append(errs, field.Invalid(path, len(ds), "every destination needs a backendRef when the route is an HTTPRoute"))
	}
	if ds[0].Prescale != nil {
		errs = append(errs, field.Invalid(path, ds[0].Name, "the first destination is home: it is not pre-scaled"))
	}
	spills := st.Type == StrategySpillover || st.Type == StrategySLO
	if len(ds) > 2 && !spills {
		errs = append(errs, field.Invalid(path, len(ds), "only spillover and slo spill across more than two destinations: switch and step move between two"))
	}
	for i, d := range ds {
		switch {
		case d.CapacityRPS == nil:
		case *d.CapacityRPS < 0:
			errs = append(errs, field.Invalid(path.Index(i).Child("capacityRps"), *d.CapacityRPS, "must be 0 or more"))
		case !spills:
			errs = append(errs, field.Invalid(path, d.Name, "a destination's capacityRps is spillover's and slo's"))
		case i == 0:
			errs = append(errs, field.Invalid(path, d.Name, "the first destination is home: its capacity is strategy.capacityRps"))
		case i == len(ds)-1:
			errs = append(errs, field.Invalid(path, d.Name, "the last destination takes the rest: it has no capacityRps"))
		}
	}
	if prescaled && !(st.CapacityPerEndpointRPS > 0) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "strategy", "capacityPerEndpointRps"), st.CapacityPerEndpointRPS,
			"pre-scaling sizes the workers from capacityPerEndpointRps: it must be above 0"))
	}
	if prescaled && st.Type == StrategySpillover {
		errs = append(errs, field.Invalid(path, st.Type, "spillover has no rate below its switch to warm from: pre-scale under switch, step or slo"))
	}
	if st.Type == StrategySwitch || st.Type == StrategyStep {
		if slices.ContainsFunc(ds, func(d Destination) bool { return d.Prescale != nil && d.Prescale.WarmRPS >= st.HighRPS }) {
			errs = append(errs, field.Invalid(path, st.HighRPS, "warmRps must be below the strategy's highRps"))
		}
	}
	return errs
}

func validateMeasurement(path *field.Path, m *Measurement) field.ErrorList {
	var errs field.ErrorList
	if (m.Prometheus != nil) == (m.Scrape != nil) {
		errs = append(errs, field.Invalid(path, m, "exactly one of prometheus and scrape must be set"))
	}
	if p := m.Prometheus; p != nil {
		at := path.Child("prometheus")
		errs = append(errs, validateURL(at.Child("url"), p.URL)...)
		errs = append(errs, validDuration(at.Child("scrapeInterval"), p.ScrapeInterval)...)
	}
	if s := m.Scrape; s != nil {
		at := path.Child("scrape")
		errs = append(errs, validateURL(at.Child("url"), s.URL)...)
		if s.Metric == "" {
			errs = append(errs, field.Required(at.Child("metric"), "the request counter"))
		}
		errs = append(errs, validDuration(at.Child("window"), s.Window)...)
	}
	return errs
}

func validateStrategy(path *field.Path, s *Strategy) field.ErrorList {
	var errs field.ErrorList
	if !slices.Contains(Strategies, s.Type) {
		errs = append(errs, field.NotSupported(path.Child("type"), s.Type, Strategies))
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"highRps", s.HighRPS}, {"lowRps", *s.LowRPS}, {"capacityRps", s.CapacityRPS}, {"capacityPerEndpointRps", s.CapacityPerEndpointRPS}} {
		if f.v < 0 {
			errs = append(errs, field.Invalid(path.Child(f.name), f.v, "must be 0 or more"))
		}
	}
	if s.Type != StrategySpillover && s.Type != StrategySLO && !(*s.LowRPS < s.HighRPS) {
		errs = append(errs, field.Invalid(path.Child("lowRps"), *s.LowRPS, "lowRps must be below highRps"))
	}
	if s.Step < 1 || s.Step > 100 {
		errs = append(errs, field.Invalid(path.Child("step"), s.Step, "must be 1 to 100 percent"))
	}
	if s.Type == StrategySpillover && !(s.CapacityRPS > 0 || s.CapacityPerEndpointRPS > 0) {
		errs = append(errs, field.Invalid(path.Child("capacityRps"), s.CapacityRPS, "spillover needs capacityRps or capacityPerEndpointRps above 0"))
	}
	o, at := s.SLO, path.Child("slo")
	if !(o.LatencyMS > 0) {
		errs = append(errs, field.Invalid(at.Child("latencyMs"), o.LatencyMS, "must be above 0"))
	} else if !slices.Contains(o.Buckets, o.LatencyMS) {
		errs = append(errs, field.Invalid(at.Child("latencyMs"), o.LatencyMS, "latencyMs must be one of the buckets: the histogram counts only at its boundaries"))
	}
	if !(o.Target > 0 && o.Target < 1) {
		errs = append(errs, field.Invalid(at.Child("target"), o.Target, "must be above 0 and below 1 (0.99 is 99%)"))
	}
	errs = append(errs, positiveDuration(at.Child("window"), o.Window)...)
	if !(o.MinRequests >= 1) {
		errs = append(errs, field.Invalid(at.Child("minRequests"), o.MinRequests, "must be at least 1"))
	}
	errs = append(errs, validDuration(at.Child("probe"), o.Probe)...)
	if !(o.Headroom > 0 && o.Headroom <= maxHeadroom) {
		errs = append(errs, field.Invalid(at.Child("headroom"), o.Headroom, fmt.Sprintf("must be above 0 and at most %g", maxHeadroom)))
	}
	if len(o.Buckets) > 64 {
		errs = append(errs, field.TooMany(at.Child("buckets"), len(o.Buckets), 64))
	}
	return errs
}

// validateWindow checks that slo's window holds four scrapes: Prometheus'
// scrape interval, or the burster's own interval when it scrapes.
func validateWindow(spec *field.Path, s *BurstPolicySpec) field.ErrorList {
	if s.Strategy.Type != StrategySLO {
		return nil
	}
	window, err := s.Strategy.SLO.Window.Duration()
	if err != nil {
		return nil // named already
	}
	scrape, by := s.Interval, "the SLO window must hold at least four intervals (each measurement scrapes)"
	if p := s.Measurement.Prometheus; p != nil {
		scrape, by = p.ScrapeInterval, "the SLO window must hold at least four of Prometheus' scrape intervals"
	}
	if d, err := scrape.Duration(); err == nil && window < 4*d {
		return field.ErrorList{field.Invalid(spec.Child("strategy", "slo", "window"), s.Strategy.SLO.Window, by)}
	}
	return nil
}

// Duration parses d; the schema's pattern admits only what it can parse.
func (d Duration) Duration() (time.Duration, error) {
	if !durationPattern.MatchString(string(d)) {
		return 0, fmt.Errorf("%q is not a duration such as 1s, 1m30s or 250ms", string(d))
	}
	return time.ParseDuration(string(d))
}

func validDuration(path *field.Path, d Duration) field.ErrorList {
	if _, err := d.Duration(); err != nil {
		return field.ErrorList{field.Invalid(path, d, err.Error())}
	}
	return nil
}

func positiveDuration(path *field.Path, d Duration) field.ErrorList {
	v, err := d.Duration()
	switch {
	case err != nil:
		return field.ErrorList{field.Invalid(path, d, err.Error())}
	case v <= 0:
		return field.ErrorList{field.Invalid(path, d, "must be above 0")}
	}
	return nil
}

func validateName(path *field.Path, name string) field.ErrorList {
	if name == "" || len(name) > 253 || !namePattern.MatchString(name) {
		return field.ErrorList{field.Invalid(path, name, "must be a DNS subdomain")}
	}
	return nil
}

func validateURL(path *field.Path, u string) field.ErrorList {
	if !urlPattern.MatchString(u) || len(u) > 2048 {
		return field.ErrorList{field.Invalid(path, u, "must be an http:// or https:// URL")}
	}
	return nil
}
