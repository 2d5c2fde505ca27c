package v1alpha1

// The defaults, as the CRD's schema declares them: the API server fills
// them in at admission, and Default does for a policy read from a file
// (the demo). A test holds the two equal.
const (
	DefaultInterval         Duration = "1s"
	DefaultMinDwell         Duration = "5s"
	DefaultTimeout          Duration = "2s"
	DefaultFailureThreshold int32    = 5
	DefaultFailSafe                  = FailSafeHold

	DefaultHighRPS     = 15.0
	DefaultLowRPS      = 10.0
	DefaultStep        = int32(20)
	DefaultCapacityRPS = 15.0

	DefaultSLOLatencyMS   = 250.0
	DefaultSLOTarget      = 0.99
	DefaultSLOWindow      = Duration("30s")
	DefaultSLOMinRequests = 20.0
	DefaultSLOProbe       = Duration("5m")
	DefaultSLOHeadroom    = 0.05

	DefaultPrescaleCooldown = Duration("5m")
	DefaultPrescaleWait     = Duration("60s")
	DefaultKubeconfigKey    = "kubeconfig"

	DefaultScrapeInterval = Duration("2s")
	DefaultScrapeWindow   = Duration("5s")
	DefaultCodeLabel      = "code"
)

// DefaultBuckets are Istio's latency buckets in ms (the local mesh's too).
var DefaultBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
	60000, 300000, 600000, 1800000, 3600000}

// Default fills in every unset field that has a default, as the API server
// does at admission.
func (p *BurstPolicy) Default() {
	s := &p.Spec
	setDefault(&s.Interval, DefaultInterval)
	setDefault(&s.MinDwell, DefaultMinDwell)
	setDefault(&s.Timeout, DefaultTimeout)
	setDefault(&s.FailureThreshold, DefaultFailureThreshold)
	setDefault(&s.FailSafe, DefaultFailSafe)
	for i := range s.Destinations {
		d := &s.Destinations[i]
		if d.Readiness != nil && d.Readiness.KubeconfigSecret != nil {
			setDefault(&d.Readiness.KubeconfigSecret.Key, DefaultKubeconfigKey)
		}
		if d.Prescale != nil {
			setDefault(&d.Prescale.Cooldown, DefaultPrescaleCooldown)
			setDefault(&d.Prescale.Wait, DefaultPrescaleWait)
		}
	}
	if m := s.Measurement.Prometheus; m != nil {
		setDefault(&m.ScrapeInterval, DefaultScrapeInterval)
	}
	if m := s.Measurement.Scrape; m != nil {
		setDefault(&m.Window, DefaultScrapeWindow)
		setDefault(&m.CodeLabel, DefaultCodeLabel)
	}
	st := &s.Strategy
	setDefault(&st.HighRPS, DefaultHighRPS)
	if st.LowRPS == nil {
		low := DefaultLowRPS
		st.LowRPS = &low
	}
	setDefault(&st.Step, DefaultStep)
	setDefault(&st.CapacityRPS, DefaultCapacityRPS)
	if st.SLO == nil {
		st.SLO = &SLO{}
	}
	o := st.SLO
	setDefault(&o.LatencyMS, DefaultSLOLatencyMS)
	setDefault(&o.Target, DefaultSLOTarget)
	setDefault(&o.Window, DefaultSLOWindow)
	setDefault(&o.MinRequests, DefaultSLOMinRequests)
	setDefault(&o.Probe, DefaultSLOProbe)
	setDefault(&o.Headroom, DefaultSLOHeadroom)
	if o.Buckets == nil {
		o.Buckets = append([]float64(nil), DefaultBuckets...)
	}
}

// setDefault sets *v to def when it holds its type's zero value: what
// omitempty leaves out of the JSON, and so what the API server defaults.
func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
