package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/meshapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/mesh"
	"github.com/cloudburst-demo/cloudburst/testkit/mesh/xds"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
)

// sloOverlay is the primary overlay with the burster on the SLO, for each
// way of splitting the traffic.
func (a trafficAPI) sloOverlay() string {
	if a.router == "gatewayapi" {
		return "k8s/overlays/slo/gatewayapi/primary"
	}
	return "k8s/overlays/slo/primary"
}

// TestSLOOverlaysRender: the slo overlays run the worker's BurstPolicy on
// the SLO with the objective the frontend's page measures against, a
// window that holds four of deploy/prometheus' scrapes, and the latency
// query of their way of splitting; the default overlays keep the codelab's
// switch. Each policy is one the BurstPolicy's own rules accept.
func TestSLOOverlaysRender(t *testing.T) {
	eachAPI(t, func(t *testing.T, api trafficAPI) {
		plain := workerPolicy(t, render(t, api.overlays+"/primary"))
		if s := plain.Spec.Strategy; s.Type != v1alpha1.StrategySwitch || s.HighRPS != 15 {
			t.Fatalf("the default overlay's policy: strategy %+v", s)
		}
		p := workerPolicy(t, render(t, api.sloOverlay()))
		for _, q := range []*v1alpha1.BurstPolicy{plain, p} {
			d := q.DeepCopy()
			d.Default()
			if errs := d.Validate(); len(errs) > 0 {
				t.Fatalf("the rendered policy is refused: %v", errs.ToAggregate())
			}
		}
		s, prom := p.Spec.Strategy, p.Spec.Measurement.Prometheus
		if s.Type != v1alpha1.StrategySLO || s.SLO == nil || s.SLO.LatencyMS != 250 || s.SLO.Target != 0.99 || s.HighRPS != 0 || s.LowRPS != nil {
			t.Fatalf("the slo overlay's policy: strategy %+v", s)
		}
		window, err := s.SLO.Window.Duration()
		interval, err2 := prom.ScrapeInterval.Duration()
		if err != nil || err2 != nil || window < 4*interval || string(prom.ScrapeInterval) != prometheusScrapeInterval(t) {
			t.Fatalf("window %q, scrapeInterval %q, deploy/prometheus scrapes every %q", s.SLO.Window, prom.ScrapeInterval, prometheusScrapeInterval(t))
		}
		by := map[string]string{"istio": `"destination_cluster", "(.*)"`, "gatewayapi": `"destination_service_name", "worker-(primary|burst)"`}[api.router]
		if q := prom.LatencyQuery; !strings.Contains(q, "istio_request_duration_milliseconds_bucket{reporter=\"source\"") ||
			!strings.Contains(q, "[$window]") || !strings.Contains(q, by) {
			t.Fatalf("latencyQuery %q: want Istio's buckets over $window, the destination from %s", q, by)
		}
		frontend := map[string]string{}
		for _, o := range render(t, api.sloOverlay()) {
			if o.GetKind() == "Deployment" && o.GetName() == "frontend" {
				frontend = plainEnv(podSpec(t, o))
			}
		}
		if frontend["SLO_LATENCY_MS"] != strconv.FormatFloat(s.SLO.LatencyMS, 'f', -1, 64) {
			t.Fatalf("the page measures against %q ms, the burster %v", frontend["SLO_LATENCY_MS"], s.SLO.LatencyMS)
		}
	})
}

// prometheusScrapeInterval is deploy/prometheus' global scrape interval.
func prometheusScrapeInterval(t testing.TB) string {
	t.Helper()
	for _, o := range render(t, "deploy/prometheus") {
		if o.GetKind() == "ConfigMap" && strings.HasPrefix(o.GetName(), "prometheus") {
			raw := str(o.Object, "data", "prometheus.yml")
			if m := regexp.MustCompile(`(?m)^\s*scrape_interval:\s*(\S+)`).FindStringSubmatch(raw); m != nil {
				return m[1]
			}
		}
	}
	t.Fatal("deploy/prometheus has no scrape_interval")
	return ""
}

// sloAtSidecar runs the real burster with the slo overlay's Deployment
// (its SLO_QUERY as rendered; the window shortened to four of the test
// Prometheus' 1 s scrapes), against a real Prometheus scraping Istio-shaped
// latency histograms as the frontend's sidecar would report them. Primary
// carries 30 req/s within its objective; then 10% of its answers take a
// second: its recent window shows it queueing (or its SLO window, over its
// objective), the burster takes what it served as its capacity and moves
// burst's share at once; while primary keeps missing its objective the
// split settles and holds, and the frontend's sidecar is told it. At 10
// req/s with primary clean again it returns to 100/0.
func sloAtSidecar(tb testing.TB, api trafficAPI, primary, burst *mesh.Cluster, frontend *xds.Client) {
	tb.Helper()
	ctx := context.Background()
	if err := frontend.Wait(ctx, pushTimeout, routeIs(api.wantRoute(100, 0))); err != nil {
		tb.Fatalf("before the load: %v", err)
	}
	h := promserver.NewHistogram(tb, "istio_request_duration_milliseconds", "istio_requests_total", meshapi.LatencyBuckets)
	labels := map[string]string{}
	for _, share := range []string{"primary", "burst"} {
		name, err := serviceName(frontend.Snapshot(), api.sidecarCluster(share))
		if err != nil {
			tb.Fatal(err)
		}
		labels[share] = fmt.Sprintf(`reporter="source",source_workload="frontend",destination_service_name=%q,destination_cluster=%q,response_code="200"`,
			name, share)
	}
	set := func(primaryRPS, slowShare, burstRPS float64) {
		h.Set(labels["primary"], promserver.Flow{RPS: primaryRPS * (1 - slowShare), Millis: 12}, promserver.Flow{RPS: primaryRPS * slowShare, Millis: 1000})
		h.Set(labels["burst"], promserver.Flow{RPS: burstRPS, Millis: 40})
	}
	set(30, 0, 0)
	prom := promserver.Start(tb, h.Host())
	b := startBursterOf(tb, render(tb, api.sloOverlay()), primary, burst, prom.URL, func(p *v1alpha1.BurstPolicy) {
		p.Spec.Strategy.SLO.Window = "4s"
		p.Spec.Measurement.Prometheus.ScrapeInterval = v1alpha1.Duration(promserver.ScrapeInterval.String())
	})
	// A whole 4 s window of 30 req/s judged within the objective. (The
	// learned capacity stays unset: primary never queued.)
	b.eventuallyJudges(tb, "primary within its objective at 30 req/s", func(s v1alpha1.BurstPolicyStatus) bool {
		d := s.Destination("primary")
		return d != nil && d.Burn != nil && *d.Burn <= 1 && d.Requests != nil && *d.Requests >= 0.9*30*4
	})

	set(30, 0.1, 0)
	component.EventuallyNil(tb, 60*time.Second, "the burster moving burst's share up", func() error {
		if v1alpha1.Weight(b.status(tb).Weights, "burst") > 0 {
			return nil
		}
		return errors.New("burst's share still 0")
	})
	changes := b.changes(tb)
	first := changes[len(changes)-1]
	// Seen first in the recent window (queueing: drained from what primary
	// served) or in the whole SLO window (sized to what it served there).
	queueing := strings.Contains(first.Message, "primary queueing") && strings.Contains(first.Message, "its capacity; draining its queue")
	breach := strings.Contains(first.Message, "primary over its objective over the window, served")
	if first.Reason != v1alpha1.ChangeWeightsChanged || first.Burn == nil || *first.Burn <= 1 || !(queueing || breach) {
		tb.Fatalf("the decision: %+v", first)
	}
	// The flows here do not answer the split (primary stays 10% slow
	// whatever it is sent), so the burster drains further while its
	// estimate of the rate sent climbs to 30 req/s; then it holds: two
	// windows of decisions (8 measurements, one a second) without a change.
	moved, n0 := b.split(tb), b.measurements(tb)
	component.EventuallyNil(tb, 90*time.Second, "the split holding while primary keeps missing its objective", func() error {
		n, w := b.measurements(tb), b.split(tb)
		if w != moved {
			// Moved again: the eight measurements count from here.
			moved, n0 = w, n
			return fmt.Errorf("moved to %v", w)
		}
		if n < n0+8 {
			return fmt.Errorf("%v held for %v measurements", w, n-n0)
		}
		return nil
	})
	if err := frontend.Wait(ctx, 60*time.Second, routeIs(api.wantRoute(moved.Weight(0), moved.Weight(1)))); err != nil {
		tb.Fatalf("primary queueing: the sidecar was not told %v: %v", moved, err)
	}

	set(10, 0, 0)
	if err := frontend.Wait(ctx, 60*time.Second, routeIs(api.wantRoute(100, 0))); err != nil {
		tb.Fatalf("the return never reached the frontend's sidecar: %v", err)
	}
	// Back once its queue drained, in one change, or filled to its
	// capacity first and the rest as slack.
	if last := b.changes(tb)[len(b.changes(tb))-1].Message; !strings.Contains(last, "primary's queue drained") && !strings.Contains(last, "slack") {
		tb.Fatalf("the return's reason: %q", last)
	}
}

// status reads the status of the burster's policy from its /api/status.
func (b *bursterProcess) status(tb testing.TB) v1alpha1.BurstPolicyStatus {
	tb.Helper()
	var p v1alpha1.BurstPolicy
	b.getJSON(tb, bursterapi.StatusPath, &p)
	return p.Status
}

// split is the weights the burster reports as a split; the test fails
// when it reports none.
func (b *bursterProcess) split(tb testing.TB) split.Split {
	tb.Helper()
	st := b.status(tb)
	s := split.Two(v1alpha1.Weight(st.Weights, "primary"), v1alpha1.Weight(st.Weights, "burst"))
	if s.Validate() != nil || len(st.Weights) != 2 {
		tb.Fatalf("the burster reports weights %v", st.Weights)
	}
	return s
}

// changes reads the burster's /api/changes.
func (b *bursterProcess) changes(tb testing.TB) []v1alpha1.Change {
	tb.Helper()
	var l v1alpha1.ChangeList
	b.getJSON(tb, bursterapi.ChangesPath, &l)
	if len(l.Items) == 0 {
		tb.Fatal("the burster has no changes")
	}
	return l.Items
}

// measurements is the burster's burster_measurements_total.
func (b *bursterProcess) measurements(tb testing.TB) float64 {
	tb.Helper()
	n, err := b.metric("burster_measurements_total")
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func (b *bursterProcess) getJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	resp, err := http.Get(b.base + path)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
}

// eventuallyJudges waits until the burster's SLO reading satisfies ok.
func (b *bursterProcess) eventuallyJudges(tb testing.TB, what string, ok func(v1alpha1.BurstPolicyStatus) bool) {
	tb.Helper()
	component.EventuallyNil(tb, 60*time.Second, what, func() error {
		st := b.status(tb)
		if !ok(st) {
			s, _ := json.Marshal(st.Destinations)
			return fmt.Errorf("destinations %s", s)
		}
		return nil
	})
}
