package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/slo"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// steadyFor is how long BenchmarkDemoSteady holds the load once settled.
const steadyFor = 30 * time.Minute

// BenchmarkDemoSteady runs `make demo DEMO_FLAGS=-strategy=slo` at a steady
// 40 req/s, twice primary's capacity, for 30 minutes once settled (the
// default SLO_PROBE of 5 minutes, so probes happen) and prints primary's
// SLI over them (the local mesh's counts) beside the target, and the
// weight changes beside the most allowed, one per 5 minutes. Run with
// -benchtime=1x; it takes over half an hour (make soak).
func BenchmarkDemoSteady(b *testing.B) {
	for range b.N {
		l := launch(b, "embedded", "-strategy=slo")
		ctx := l.openPage(b)
		bursterURL, adminURL := l.url("burster"), l.url("mesh-admin")
		press(b, ctx, kb.ArrowRight, 40)
		settle(b, bursterURL, time.Now(), func(w split.Split) bool { return w.Spilled() > 0 })
		start := time.Now()
		req0, good0 := primaryCounts(b, adminURL+"/metrics")
		time.Sleep(steadyFor) // the duration is what is measured
		req1, good1 := primaryCounts(b, adminURL+"/metrics")
		changes := changesSince(b, bursterURL, start)
		sli := slo.SLI(good1-good0, req1-req0)
		b.ReportMetric(sli, "primary-sli")
		b.ReportMetric(0.99, "target")
		b.ReportMetric(float64(changes), "changes")
		b.ReportMetric(steadyFor.Minutes()/5, "changes-max")
		b.ReportMetric((req1-req0)/steadyFor.Seconds(), "primary-rps")
		if sli < 0.99 || float64(changes) > steadyFor.Minutes()/5 {
			b.Errorf("over %s at 40 req/s: primary's SLI %.4f (target 0.99), %d weight changes (at most one per 5 minutes)", steadyFor, sli, changes)
		}
	}
}

// primaryCounts is the local mesh's count of primary's requests, and of the
// good ones (answered, not failed, within 250 ms), from its histogram.
func primaryCounts(tb testing.TB, url string) (requests, good float64) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	fam, ok := families["localmesh_request_duration_milliseconds"]
	if !ok {
		tb.Fatalf("%s has no localmesh_request_duration_milliseconds", url)
	}
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["destination"] != "primary" {
			continue
		}
		h := m.GetHistogram()
		requests += float64(h.GetSampleCount())
		if slo.Failed(labels["code"]) {
			continue
		}
		for _, bk := range h.GetBucket() {
			if bk.GetUpperBound() == sloObjective {
				good += float64(bk.GetCumulativeCount())
			}
		}
	}
	return requests, good
}
