// Package config is the burster's configuration: every environment variable,
// its default and its description, and the checks that name the variable at
// fault. It is the only package that knows the variables' names; the others
// take typed settings.
package config

import (
	"errors"
	"fmt"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
	"github.com/cloudburst-demo/cloudburst/pkg/server"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

// DefaultQuery is the worker's request rate as the frontend's sidecar
// reports it (reporter="source"): it counts every request whichever cluster
// serves it, and is scraped by the Prometheus in primary. The deployment
// scrapes every 2s, so a 10s window holds five samples: rate() needs two, and
// five survive a missed scrape while still reacting within seconds. (The
// codelab's 15s window at the default 15s interval often held one sample.)
const DefaultQuery = `sum(rate(istio_requests_total{reporter="source",source_workload="frontend",destination_service_name="worker"}[10s]))`

// DefaultSLOQuery is the latency of the worker's requests as the frontend's
// sidecar reports it, per destination cluster: Istio names the cluster that
// served a request in destination_cluster (the mesh's clusters are primary
// and burst). It includes the queueing at primary and, for burst, the
// east-west hop. $window is replaced by SLO_WINDOW.
const DefaultSLOQuery = `sum by (destination, le, code) (label_replace(label_replace(
increase(istio_request_duration_milliseconds_bucket{reporter="source",source_workload="frontend",destination_service_name="worker"}[$window]),
"destination", "$1", "destination_cluster", "(.*)"), "code", "$1", "response_code", "(.*)"))`

// DefaultSLOQueryGatewayAPI is DefaultSLOQuery for ROUTER=gatewayapi: each
// backend has its own Service, which names the destination.
const DefaultSLOQueryGatewayAPI = `sum by (destination, le, code) (label_replace(label_replace(
increase(istio_request_duration_milliseconds_bucket{reporter="source",source_workload="frontend",destination_service_name=~"worker-primary|worker-burst"}[$window]),
"destination", "$1", "destination_service_name", "worker-(primary|burst)"), "code", "$1", "response_code", "(.*)"))`

// DefaultBudgetQuery is each cluster's burn rate by the labels cluster and
// window, from the recording rules in deploy/prometheus: SLO_BUDGET_QUERY's
// default (a test holds the two equal).
const DefaultBudgetQuery = `label_replace({__name__=~"cloudburst:worker_burn:rate(5m|1h|3d)"}, "window", "$1", "__name__", "cloudburst:worker_burn:rate(.*)")`

// Policies says where the burster's policies come from.
type Policies string

// The places policies come from.
const (
	// PoliciesEnv is one policy, configured by the variables below.
	PoliciesEnv Policies = "env"
	// PoliciesKubernetes is every BurstPolicy in NAMESPACE: the policy
	// variables are not read.
	PoliciesKubernetes Policies = "kubernetes"
	// PoliciesFile is one BurstPolicy read from POLICY_FILE, with no
	// Kubernetes API (the demo): the policy variables are not read.
	PoliciesFile Policies = "file"
)

// UnmarshalText accepts only env, kubernetes and file.
func (p *Policies) UnmarshalText(b []byte) error {
	return envconf.OneOf(p, string(b), []Policies{PoliciesEnv, PoliciesKubernetes, PoliciesFile})
}

// Config is the burster's configuration, read from the environment.
type Config struct {
	server.Config
	LogLevel   string   `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	Policies   Policies `envconfig:"POLICIES" default:"env" desc:"env: one policy from the variables below; kubernetes: every BurstPolicy in NAMESPACE, each with its own route; file: the BurstPolicy in POLICY_FILE (the policy variables are not read with kubernetes or file)"`
	PolicyFile string   `envconfig:"POLICY_FILE" desc:"POLICIES=file: a BurstPolicy in YAML"`

	Source        source.Kind   `envconfig:"SOURCE" default:"prometheus" desc:"where the rate comes from: prometheus or scrape"`
	PrometheusURL string        `envconfig:"PROMETHEUS_URL" default:"http://prometheus.istio-system:9090" desc:"SOURCE=prometheus: the Prometheus API"`
	Query         string        `envconfig:"QUERY" desc:"SOURCE=prometheus: PromQL returning one value in req/s; empty: the worker's rate from Istio's metrics"`
	QueryTimeout  time.Duration `envconfig:"QUERY_TIMEOUT" default:"2s" desc:"bounds each call to any API: query, scrape, the routing object, events, the Lease, the burst cluster"`
	ScrapeURL     string        `envconfig:"SCRAPE_URL" desc:"SOURCE=scrape: a Prometheus text endpoint"`
	ScrapeMetric  string        `envconfig:"SCRAPE_METRIC" desc:"SOURCE=scrape: the request counter"`
	ScrapeLabels  string        `envconfig:"SCRAPE_LABELS" desc:"SOURCE=scrape: label matchers, name=value,..."`
	ScrapeWindow  time.Duration `envconfig:"SCRAPE_WINDOW" default:"5s" desc:"SOURCE=scrape: the window of the rate"`

	DestinationsQuery      string `envconfig:"DESTINATIONS_QUERY" desc:"SOURCE=prometheus: PromQL giving req/s by the labels destination (primary, burst) and code; empty: destinations not measured"`
	ScrapeDestinationLabel string `envconfig:"SCRAPE_DESTINATION_LABEL" desc:"SOURCE=scrape: the counter's label naming the destination (primary, burst); empty: destinations not measured"`
	ScrapeCodeLabel        string `envconfig:"SCRAPE_CODE_LABEL" default:"code" desc:"SOURCE=scrape: the counter's label holding the response code"`

	Strategy         policy.StrategyName `envconfig:"STRATEGY" default:"switch" desc:"switch, step, spillover or slo"`
	HighRPS          float64             `envconfig:"HIGH_RPS" default:"15" desc:"switch, step: burst above this rate"`
	LowRPS           float64             `envconfig:"LOW_RPS" default:"10" desc:"switch, step: back below this rate"`
	Step             int                 `envconfig:"STEP" default:"20" desc:"step: percent per change; spillover: rounding (slo sizes its moves)"`
	CapacityRPS      float64             `envconfig:"CAPACITY_RPS" default:"15" desc:"spillover: the rate primary keeps"`
	PerEndpointRPS   float64             `envconfig:"CAPACITY_PER_ENDPOINT_RPS" default:"0" desc:"spillover: > 0 keeps this × primary's ready workers instead of CAPACITY_RPS"`
	WorkerService    string              `envconfig:"WORKER_SERVICE" default:"worker" desc:"the Service whose ready endpoints are counted (CAPACITY_PER_ENDPOINT_RPS, BURST_KUBECONFIG)"`
	BurstKubeconfig  string              `envconfig:"BURST_KUBECONFIG" desc:"a kubeconfig for the burst cluster: no weight goes there while it has no ready worker; empty: not checked"`
	BurstPrescale    bool                `envconfig:"BURST_PRESCALE" default:"false" desc:"raise the burst HPA's minReplicas from WARM_RPS on, put it back after BURST_COOLDOWN (needs BURST_KUBECONFIG, CAPACITY_PER_ENDPOINT_RPS; switch, step or slo)"`
	BurstHPA         string              `envconfig:"BURST_HPA" default:"worker" desc:"BURST_PRESCALE: the burst cluster's HorizontalPodAutoscaler"`
	WarmRPS          float64             `envconfig:"WARM_RPS" default:"10" desc:"BURST_PRESCALE: from this rate (below HIGH_RPS; under slo, where primary nears its capacity) burst's workers are raised"`
	BurstCooldown    time.Duration       `envconfig:"BURST_COOLDOWN" default:"5m" desc:"BURST_PRESCALE: time all on primary, below WARM_RPS, before minReplicas is put back"`
	PrescaleWait     time.Duration       `envconfig:"PRESCALE_WAIT" default:"60s" desc:"BURST_PRESCALE: longest wait for the raised workers before the first shift"`
	SLOLatencyMS     float64             `envconfig:"SLO_LATENCY_MS" default:"250" desc:"slo: a good request is answered, not 5xx, within this; a bucket boundary of the latency histogram"`
	SLOTarget        float64             `envconfig:"SLO_TARGET" default:"0.99" desc:"slo: the share of primary's requests that must be good"`
	SLOWindow        time.Duration       `envconfig:"SLO_WINDOW" default:"30s" desc:"slo: the window of the SLI and burn rate; at least four scrape intervals"`
	SLOMinRequests   float64             `envconfig:"SLO_MIN_REQUESTS" default:"20" desc:"slo: fewer requests in the window is no data: hold"`
	SLOProbe         time.Duration       `envconfig:"SLO_PROBE" default:"5m" desc:"slo: after this without queueing, offer primary SLO_HEADROOM more than it carries, doubling while it stays within its objective; 0: never"`
	SLOHeadroom      float64             `envconfig:"SLO_HEADROOM" default:"0.05" desc:"slo: the share of primary's learned capacity left unused, and the most a probe offers beyond what it carries"`
	SLOBuckets       []float64           `envconfig:"SLO_BUCKETS" default:"0.5,1,5,10,25,50,100,250,500,1000,2500,5000,10000,30000,60000,300000,600000,1800000,3600000" desc:"slo: the latency histogram's bucket boundaries in ms (Istio's defaults; the local mesh's)"`
	SLOQuery         string              `envconfig:"SLO_QUERY" desc:"SOURCE=prometheus: PromQL giving each bucket's increase over $window by destination, le and code; empty: Istio's for ROUTER under slo, not measured under another strategy"`
	SLOScrapeMetric  string              `envconfig:"SLO_SCRAPE_METRIC" desc:"slo, SOURCE=scrape: the latency histogram (ms), labelled as the counter; set under another strategy, the SLI is measured for the page"`
	SLOBudgetQuery   string              `envconfig:"SLO_BUDGET_QUERY" default:"label_replace({__name__=~\"cloudburst:worker_burn:rate(5m|1h|3d)\"}, \"window\", \"$1\", \"__name__\", \"cloudburst:worker_burn:rate(.*)\")" desc:"SOURCE=prometheus: each cluster's burn rate by the labels cluster and window (5m, 1h, and 3d for the budget), from deploy/prometheus' recording rules"`
	SecurityQuery    string              `envconfig:"SECURITY_QUERY" desc:"SOURCE=prometheus: req/s by the labels destination and security (Istio's connection_security_policy); empty: not measured"`
	ScrapeInterval   time.Duration       `envconfig:"PROMETHEUS_SCRAPE_INTERVAL" default:"2s" desc:"slo, SOURCE=prometheus: how often Prometheus scrapes the sidecars (deploy/prometheus: 2s)"`
	Interval         time.Duration       `envconfig:"INTERVAL" default:"1s" desc:"time between measurements"`
	MinDwell         time.Duration       `envconfig:"MIN_DWELL" default:"5s" desc:"least time between two changes"`
	FailureThreshold int                 `envconfig:"FAILURE_THRESHOLD" default:"5" desc:"failed measurements in a row before the fail-safe"`
	FailSafe         policy.FailSafe     `envconfig:"FAIL_SAFE" default:"hold" desc:"hold (keep the weights) or primary (all back to primary)"`
	DryRun           bool                `envconfig:"DRY_RUN" default:"false" desc:"decide and report, never write"`

	Router         router.Kind `envconfig:"ROUTER" default:"istio" desc:"what the weights are written to: istio, gatewayapi or localmesh"`
	MeshAdminURL   string      `envconfig:"MESH_ADMIN_URL" desc:"ROUTER=localmesh: the local mesh's admin API"`
	MeshReadiness  bool        `envconfig:"MESH_READINESS" default:"false" desc:"ROUTER=localmesh: no weight goes to burst while the mesh finds its backend not ready"`
	Namespace      string      `envconfig:"NAMESPACE" desc:"the routing object's namespace (POLICIES=kubernetes: the policies'); empty: the pod's own"`
	VirtualService string      `envconfig:"VIRTUAL_SERVICE" default:"worker" desc:"ROUTER=istio: the VirtualService to change"`
	PrimarySubset  string      `envconfig:"PRIMARY_SUBSET" default:"primary" desc:"ROUTER=istio: the subset of the primary cluster's workers"`
	BurstSubset    string      `envconfig:"BURST_SUBSET" default:"burst" desc:"ROUTER=istio: the subset of the burst cluster's workers"`
	HTTPRoute      string      `envconfig:"HTTP_ROUTE" default:"worker" desc:"ROUTER=gatewayapi: the HTTPRoute to change"`
	PrimaryBackend string      `envconfig:"PRIMARY_BACKEND" default:"worker-primary" desc:"ROUTER=gatewayapi: the Service of the primary cluster's workers"`
	BurstBackend   string      `envconfig:"BURST_BACKEND" default:"worker-burst" desc:"ROUTER=gatewayapi: the Service of the burst cluster's workers"`

	LeaderElect   bool          `envconfig:"LEADER_ELECT" default:"true" desc:"run the controller only on the replica holding the Lease"`
	LeaseName     string        `envconfig:"LEASE_NAME" default:"burster" desc:"the Lease"`
	LeaseDuration time.Duration `envconfig:"LEASE_DURATION" default:"15s" desc:"how long a lease lasts without renewal"`
	RenewDeadline time.Duration `envconfig:"RENEW_DEADLINE" default:"10s" desc:"the leader gives up when it cannot renew within this"`
	RetryPeriod   time.Duration `envconfig:"RETRY_PERIOD" default:"2s" desc:"time between attempts to acquire or renew"`
	PodName       string        `envconfig:"POD_NAME" desc:"the election identity; empty: host name and a random suffix"`
}

// Policy is the policy's part of the configuration.
func (c Config) Policy() policy.Config {
	return policy.Config{
		Strategy: c.Strategy, HighRPS: c.HighRPS, LowRPS: c.LowRPS, Step: c.Step, CapacityRPS: c.CapacityRPS,
		MinDwell: c.MinDwell, FailureThreshold: c.FailureThreshold, FailSafe: c.FailSafe,
		SLOLatency: time.Duration(c.SLOLatencyMS * float64(time.Millisecond)), SLOTarget: c.SLOTarget,
		SLOWindow: c.SLOWindow, SLOMinRequests: c.SLOMinRequests, SLOProbe: c.SLOProbe,
		SLOHeadroom: c.SLOHeadroom,
	}
}

// SourceConfig is the rate source's part of the configuration.
func (c Config) SourceConfig() source.Config {
	s := source.Config{
		Kind: c.Source, Timeout: c.QueryTimeout,
		PrometheusURL: c.PrometheusURL, Query: c.Query, DestinationsQuery: c.DestinationsQuery,
		ScrapeURL: c.ScrapeURL, ScrapeMetric: c.ScrapeMetric, ScrapeLabels: c.ScrapeLabels, ScrapeWindow: c.ScrapeWindow,
		ScrapeDestinationLabel: c.ScrapeDestinationLabel, ScrapeCodeLabel: c.ScrapeCodeLabel,
	}
	if c.MeasuresSLO() {
		s.LatencyWindow, s.Objective, s.Target = c.SLOWindow, c.SLOLatencyMS, c.SLOTarget
		switch c.Source {
		case source.KindPrometheus:
			s.LatencyQuery, s.BudgetQuery = c.SLOQuery, c.SLOBudgetQuery
			s.RecentWindow = RecentPrometheusScrapes * c.ScrapeInterval
		case source.KindScrape:
			s.LatencyMetric = c.SLOScrapeMetric
			s.RecentWindow = RecentOwnScrapes * c.Interval
		}
	}
	if c.Source == source.KindPrometheus {
		s.SecurityQuery = c.SecurityQuery
	}
	return s
}

// The recent window, where primary's queueing shows within seconds, spans
// a few scrapes, short enough that it lies within the seconds primary
// queues before its queue is drained, or it reads its capacity low. The
// burster's own scrapes (one an INTERVAL) are exact and timed: one.
// Prometheus' increase() needs two samples inside its range: two of its
// intervals (a range that holds one, when a scrape is late, leaves the
// recent window out for that measurement).
const (
	RecentOwnScrapes        = 1 // the burster's own scrapes
	RecentPrometheusScrapes = 2 // Prometheus' scrape intervals
)

// MeasuresSLO reports whether the burster measures the worker's service
// level: always under STRATEGY=slo, which decides from it, and otherwise
// for the status and the page when a latency source is set (SLO_QUERY, or
// SLO_SCRAPE_METRIC).
func (c Config) MeasuresSLO() bool {
	switch {
	case c.Strategy == policy.SLO:
		return true
	case c.Source == source.KindPrometheus:
		return c.SLOQuery != ""
	case c.Source == source.KindScrape:
		return c.SLOScrapeMetric != ""
	}
	return false
}

// policyVars names the variable behind each policy setting.
var policyVars = map[policy.Setting]string{
	policy.SettingStrategy: "STRATEGY", policy.SettingHigh: "HIGH_RPS", policy.SettingLow: "LOW_RPS",
	policy.SettingStep: "STEP", policy.SettingCapacity: "CAPACITY_RPS", policy.SettingMinDwell: "MIN_DWELL",
	policy.SettingFailureThreshold: "FAILURE_THRESHOLD", policy.SettingFailSafe: "FAIL_SAFE",
	policy.SettingSLOTarget: "SLO_TARGET", policy.SettingSLOWindow: "SLO_WINDOW",
	policy.SettingSLOMinRequests: "SLO_MIN_REQUESTS", policy.SettingSLOProbe: "SLO_PROBE",
	policy.SettingSLOHeadroom: "SLO_HEADROOM",
}

// Validate fills in the default query and checks every setting, naming
// each problem's variable.
func (c *Config) Validate() error {
	switch c.Policies {
	case PoliciesKubernetes:
		return c.validateProcess()
	case PoliciesFile:
		if c.PolicyFile == "" {
			return errors.New("POLICY_FILE is required with POLICIES=file")
		}
		return nil // no leader: a file has one reader
	}
	if c.Query == "" {
		c.Query = DefaultQuery
	}
	var errs []error
	if c.MeasuresSLO() {
		errs = c.validateSLO()
	}
	switch c.Source {
	case source.KindPrometheus:
		if c.PrometheusURL == "" {
			errs = append(errs, errors.New("PROMETHEUS_URL is required with SOURCE=prometheus"))
		}
	case source.KindScrape:
		if c.ScrapeURL == "" || c.ScrapeMetric == "" {
			errs = append(errs, errors.New("SCRAPE_URL and SCRAPE_METRIC are required with SOURCE=scrape"))
		}
		if c.ScrapeDestinationLabel != "" && (c.ScrapeCodeLabel == "" || c.ScrapeCodeLabel == c.ScrapeDestinationLabel) {
			errs = append(errs, errors.New("SCRAPE_CODE_LABEL must be set, and differ from SCRAPE_DESTINATION_LABEL"))
		}
	}
	switch c.Router {
	case router.KindLocalMesh:
		if c.MeshAdminURL == "" {
			errs = append(errs, errors.New("MESH_ADMIN_URL is required with ROUTER=localmesh"))
		}
		if c.LeaderElect {
			errs = append(errs, errors.New("leader election needs the Kubernetes API: set LEADER_ELECT=false with ROUTER=localmesh"))
		}
	case router.KindIstio:
		if c.VirtualService == "" || c.PrimarySubset == "" || c.BurstSubset == "" || c.PrimarySubset == c.BurstSubset {
			errs = append(errs, errors.New("VIRTUAL_SERVICE must be set, and PRIMARY_SUBSET and BURST_SUBSET set and different"))
		}
	case router.KindGatewayAPI:
		if c.HTTPRoute == "" || c.PrimaryBackend == "" || c.BurstBackend == "" || c.PrimaryBackend == c.BurstBackend {
			errs = append(errs, errors.New("HTTP_ROUTE must be set, and PRIMARY_BACKEND and BURST_BACKEND set and different"))
		}
	}
	if c.PerEndpointRPS < 0 {
		errs = append(errs, fmt.Errorf("CAPACITY_PER_ENDPOINT_RPS must not be negative, got %v", c.PerEndpointRPS))
	}
	if c.PerEndpointRPS > 0 {
		if c.Router == router.KindLocalMesh {
			errs = append(errs, errors.New("CAPACITY_PER_ENDPOINT_RPS counts endpoints in the Kubernetes API: not with ROUTER=localmesh"))
		}
		if c.Strategy != policy.Spillover && !c.BurstPrescale {
			errs = append(errs, errors.New("CAPACITY_PER_ENDPOINT_RPS is used by STRATEGY=spillover and BURST_PRESCALE only"))
		}
		if c.WorkerService == "" {
			errs = append(errs, errors.New("WORKER_SERVICE must be set with CAPACITY_PER_ENDPOINT_RPS"))
		}
	}
	if c.MeshReadiness && c.Router != router.KindLocalMesh {
		errs = append(errs, errors.New("MESH_READINESS reads the local mesh: only with ROUTER=localmesh (in a cluster use BURST_KUBECONFIG)"))
	}
	if c.BurstKubeconfig != "" && c.Router == router.KindLocalMesh {
		errs = append(errs, errors.New("BURST_KUBECONFIG reads the burst cluster's Kubernetes API: not with ROUTER=localmesh"))
	}
	if c.BurstKubeconfig != "" && c.WorkerService == "" {
		errs = append(errs, errors.New("WORKER_SERVICE must be set with BURST_KUBECONFIG"))
	}
	if c.BurstPrescale {
		switch {
		case c.BurstKubeconfig == "" || c.PerEndpointRPS <= 0:
			errs = append(errs, errors.New("BURST_PRESCALE needs BURST_KUBECONFIG and CAPACITY_PER_ENDPOINT_RPS"))
		case c.Strategy == policy.Spillover:
			errs = append(errs, errors.New("BURST_PRESCALE warms below HIGH_RPS: STRATEGY=switch, step or slo"))
		case c.Strategy == policy.SLO && !(c.WarmRPS > 0):
			errs = append(errs, fmt.Errorf("WARM_RPS must be above 0, got %v", c.WarmRPS))
		case c.Strategy != policy.SLO && !(c.WarmRPS > 0 && c.WarmRPS < c.HighRPS):
			errs = append(errs, fmt.Errorf("WARM_RPS must be above 0 and below HIGH_RPS (%v), got %v", c.HighRPS, c.WarmRPS))
		case c.BurstHPA == "" || c.BurstCooldown < 0 || c.PrescaleWait <= 0:
			errs = append(errs, errors.New("BURST_HPA must be set, BURST_COOLDOWN not negative and PRESCALE_WAIT positive"))
		}
	}
	if c.Interval <= 0 || c.QueryTimeout <= 0 {
		errs = append(errs, errors.New("INTERVAL and QUERY_TIMEOUT must be positive"))
	}
	if err := c.validateProcess(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Policy().Validate(); err != nil {
		errs = append(errs, nameVars(err))
	}
	return errors.Join(errs...)
}

// validateProcess checks what belongs to the process, whichever the
// policies: the leader election.
func (c *Config) validateProcess() error {
	if c.LeaderElect && !(c.LeaseDuration > c.RenewDeadline && c.RenewDeadline > c.RetryPeriod && c.RetryPeriod > 0) {
		return errors.New("need LEASE_DURATION > RENEW_DEADLINE > RETRY_PERIOD > 0")
	}
	return nil
}

// validateSLO checks what the slo strategy needs beyond the policy's
// settings: an objective the histogram can count, a window that holds four
// scrapes, and a latency to read. It fills in Istio's query for the router.
func (c *Config) validateSLO() []error {
	var errs []error
	if c.Strategy != policy.SLO && !(c.SLOTarget > 0 && c.SLOTarget < 1) {
		// Under slo the policy checks it.
		errs = append(errs, fmt.Errorf("SLO_TARGET must be above 0 and below 1 (0.99 is 99%%), got %v", c.SLOTarget))
	}
	if !(c.SLOLatencyMS > 0) {
		errs = append(errs, fmt.Errorf("SLO_LATENCY_MS must be positive, got %v", c.SLOLatencyMS))
	} else if err := source.CheckBucket(c.SLOLatencyMS, c.SLOBuckets); err != nil {
		errs = append(errs, fmt.Errorf("SLO_LATENCY_MS: %w (SLO_BUCKETS lists the boundaries)", err))
	}
	scrape, by := c.Interval, "INTERVAL (each measurement scrapes)"
	switch c.Source {
	case source.KindPrometheus:
		scrape, by = c.ScrapeInterval, "PROMETHEUS_SCRAPE_INTERVAL"
		if c.ScrapeInterval <= 0 {
			errs = append(errs, fmt.Errorf("PROMETHEUS_SCRAPE_INTERVAL must be positive, got %s", c.ScrapeInterval))
		}
		if c.SLOQuery == "" {
			c.SLOQuery = DefaultSLOQuery
			if c.Router == router.KindGatewayAPI {
				c.SLOQuery = DefaultSLOQueryGatewayAPI
			}
		}
	case source.KindScrape:
		if c.SLOScrapeMetric == "" || c.ScrapeDestinationLabel == "" {
			errs = append(errs, errors.New("SLO_SCRAPE_METRIC and SCRAPE_DESTINATION_LABEL are required with STRATEGY=slo and SOURCE=scrape"))
		}
	}
	if scrape > 0 && c.SLOWindow > 0 && c.SLOWindow < 4*scrape {
		errs = append(errs, fmt.Errorf("SLO_WINDOW must hold at least four scrapes (4 × %s = %s), got %s", by, 4*scrape, c.SLOWindow))
	}
	return errs
}

// nameVars rewrites the policy's errors to name the variables at fault.
func nameVars(err error) error {
	var out []error
	for _, e := range unjoin(err) {
		var se *policy.SettingError
		if errors.As(e, &se) {
			e = fmt.Errorf("%s: %s", policyVars[se.Setting], se.Problem)
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
