package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// The demo's SLO: primary serves 20 req/s (the launcher's default
// -primary-capacity), the objective is 99% within 250 ms.
const (
	sloCapacity  = 20.0
	sloObjective = 250.0
	// settledFor is how long the split must stay put to count as settled:
	// three of the strategy's dwells (two 5 s windows each).
	settledFor = 30 * time.Second
	// observeFor is how long a settled split is watched for changes.
	observeFor = time.Minute
)

// sloRun is what one run of the SLO demo measured, for the test's report
// and the benchmark.
type sloRun struct {
	SettleUp, SettleDown   time.Duration // from the slider's step to the split that then held
	ChangesUp, ChangesDown int           // weight changes each took
	Settled                split.Split
	ChangesPerMinute       float64 // weight changes while settled, per minute
	PrimaryP99, BurstP99   float64 // ms, the frontend's over its last 10 s, once settled
	PrimarySLI, BurnSettle float64 // the burster's judgement of primary once settled
}

// TestDemoSLO runs `make demo DEMO_FLAGS=-strategy=slo` and drives the
// page: at 40 req/s, twice primary's capacity, the split settles with
// primary carrying about half (its capacity ±25%) within its objective and
// changing at most twice a minute; at 10 req/s everything returns to
// primary. The page shows both clusters' p99 against the objective.
func TestDemoSLO(t *testing.T) {
	r := runSLODemo(t, t.Name())
	t.Logf("10 -> 40 req/s: settled at %v after %s in %d changes; %.1f changes/min while settled; primary p99 %.1f ms, burst p99 %.1f ms (objective %v ms); primary SLI %.4f, burn %.2f; 40 -> 10 req/s: 100/0 after %s in %d changes",
		r.Settled, r.SettleUp.Round(100*time.Millisecond), r.ChangesUp, r.ChangesPerMinute, r.PrimaryP99, r.BurstP99, sloObjective,
		r.PrimarySLI, r.BurnSettle, r.SettleDown.Round(100*time.Millisecond), r.ChangesDown)
}

func runSLODemo(t testing.TB, name string) sloRun {
	l := launch(t, "embedded", "-strategy=slo")
	if !strings.Contains(l.logs.String(), fmt.Sprintf("move the slider past primary's capacity (%g requests/s)", sloCapacity)) {
		t.Fatalf("the launcher does not say it runs the SLO strategy:\n%s", l.logs.Tail(20))
	}
	ctx := l.openPage(t)
	bursterURL, frontendURL := l.url("burster"), l.url("frontend")
	var r sloRun

	// 10 req/s, within primary's capacity: judged within its objective.
	press(t, ctx, kb.ArrowRight, 10)
	component.EventuallyNil(t, 60*time.Second, "primary judged within its objective at 10 req/s", func() error {
		st := bursterStatusAt(t, bursterURL)
		if st.SLO == nil || st.SLO.Primary == nil || st.SLO.Primary.Burn == nil || *st.SLO.Primary.Burn > 1 {
			return fmt.Errorf("slo %+v", st.SLO)
		}
		if st.Weights == nil || *st.Weights != split.AllPrimary {
			return fmt.Errorf("weights %v", st.Weights)
		}
		return nil
	})

	step := time.Now()
	press(t, ctx, kb.ArrowRight, 30) // 10 -> 40
	var last time.Time
	r.Settled, last = settle(t, bursterURL, step, func(w split.Split) bool { return w.Burst > 0 })
	r.SettleUp, r.ChangesUp = last.Sub(step), changesSince(t, bursterURL, step)
	if carried := sloCapacity * 2 * float64(r.Settled.Primary) / 100; carried < 0.75*sloCapacity || carried > 1.25*sloCapacity {
		t.Fatalf("settled at %v: primary carries %.1f req/s, want its capacity %v ±25%%", r.Settled, carried, sloCapacity)
	}
	// Watched while settled: few changes, primary within its objective.
	watched := time.Now()
	time.Sleep(observeFor) // the duration is what is measured: changes within it are counted
	changes := changesSince(t, bursterURL, watched)
	r.ChangesPerMinute = float64(changes) / time.Since(watched).Minutes()
	if r.ChangesPerMinute > 2 {
		t.Fatalf("%d weight changes in %s once settled, want at most two a minute", changes, time.Since(watched).Round(time.Second))
	}
	st := bursterStatusAt(t, bursterURL)
	if st.SLO == nil || st.SLO.Primary == nil || st.SLO.Primary.SLI == nil {
		t.Fatalf("the burster's SLO status once settled: %+v", st.SLO)
	}
	r.PrimarySLI, r.BurnSettle = *st.SLO.Primary.SLI, *st.SLO.Primary.Burn
	if r.BurnSettle > 1 {
		t.Fatalf("primary burns %.2f× its budget once settled (SLI %.4f)", r.BurnSettle, r.PrimarySLI)
	}
	var page pageapi.Status
	getJSON(t, frontendURL+"/api/status", &page)
	if page.Latency == nil || page.Latency.Primary.P99MS == nil || page.Latency.Burst.P99MS == nil {
		t.Fatalf("the frontend's latency once settled: %+v", page.Latency)
	}
	r.PrimaryP99, r.BurstP99 = *page.Latency.Primary.P99MS, *page.Latency.Burst.P99MS
	if r.PrimaryP99 > sloObjective {
		t.Fatalf("primary's p99 %.1f ms once settled, over the %v ms objective", r.PrimaryP99, sloObjective)
	}
	// The page shows both p99s and the objective.
	if err := poll(ctx, `/ms$/.test(document.getElementById("lat-primary-p99").textContent) && `+
		`/ms$/.test(document.getElementById("lat-burst-p99").textContent) && `+
		`document.getElementById("objective").textContent === "250" && `+
		`document.getElementById("burster-line").textContent.includes("objective 99.0% within 250 ms")`, 10*time.Second); err != nil {
		t.Fatalf("the page does not show both clusters' p99 and the objective: %v (latency %q, burster %q)", err,
			eval[string](t, ctx, `document.getElementById("latency").innerText`), eval[string](t, ctx, `document.getElementById("burster-line").textContent`))
	}
	shot(t, ctx, "demo-slo.png")

	step = time.Now()
	press(t, ctx, kb.ArrowLeft, 30) // 40 -> 10
	_, last = settle(t, bursterURL, step, func(w split.Split) bool { return w == split.AllPrimary })
	r.SettleDown, r.ChangesDown = last.Sub(step), changesSince(t, bursterURL, step)

	report := fmt.Sprintf("%s: 10->40 req/s settled at %v after %s in %d changes; %.1f changes/min settled; primary p99 %.1f ms, burst p99 %.1f ms (objective %v ms); 40->10 req/s: 100/0 after %s in %d changes\n",
		name, r.Settled, r.SettleUp.Round(100*time.Millisecond), r.ChangesUp, r.ChangesPerMinute, r.PrimaryP99, r.BurstP99, sloObjective,
		r.SettleDown.Round(100*time.Millisecond), r.ChangesDown)
	if err := os.WriteFile(filepath.Join(artifactDir(t), "demo-slo-times.txt"), []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// openPage opens the demo's page in a browser, live and with the slider
// focused.
func (l *launched) openPage(t testing.TB) context.Context {
	t.Helper()
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(l.pageURL), chromedp.WaitVisible(chromedp.CSS(`#conn.open`)),
		chromedp.Focus(chromedp.ID(`rate`))); err != nil {
		t.Fatalf("opening the page: %v", err)
	}
	return ctx
}

// url is the base URL of one of the demo's processes.
func (l *launched) url(name string) string { return fmt.Sprintf("http://127.0.0.1:%d", l.ports[name]) }

// settle waits until the burster's weights satisfy want and then hold for
// settledFor, and returns them with the time of the last change before
// they held (or since, when none changed them).
func settle(t testing.TB, bursterURL string, since time.Time, want func(split.Split) bool) (split.Split, time.Time) {
	t.Helper()
	var w split.Split
	var last time.Time
	component.EventuallyEvery(t, 4*time.Minute, time.Second, "a split that holds for "+settledFor.String(), func() error {
		st := bursterStatusAt(t, bursterURL)
		if st.Weights == nil || !want(*st.Weights) {
			return fmt.Errorf("weights %v; slo %+v", st.Weights, st.SLO)
		}
		w, last = *st.Weights, since
		for _, c := range changesAt(t, bursterURL) {
			if c.Kind == bursterapi.WeightsChanged && c.At.After(last) {
				last = c.At
			}
		}
		if held := time.Since(last); held < settledFor {
			return fmt.Errorf("%v held for %s", w, held.Round(time.Second))
		}
		return nil
	})
	return w, last
}

// changesSince counts the burster's weight changes after since.
func changesSince(t testing.TB, bursterURL string, since time.Time) int {
	t.Helper()
	n := 0
	for _, c := range changesAt(t, bursterURL) {
		if c.Kind == bursterapi.WeightsChanged && c.At.After(since) {
			n++
		}
	}
	return n
}

func bursterStatusAt(t testing.TB, base string) bursterapi.Status {
	t.Helper()
	var st bursterapi.Status
	getJSON(t, base+bursterapi.StatusPath, &st)
	return st
}

func changesAt(t testing.TB, base string) []bursterapi.Change {
	t.Helper()
	var c []bursterapi.Change
	getJSON(t, base+bursterapi.ChangesPath, &c)
	return c
}

// BenchmarkDemoSLO runs TestDemoSLO's presenter and prints the figures
// beside their floors: the settle time from the step 10 -> 40 req/s beside
// the least the strategy can take to see primary queueing (its recent
// window of three scrapes), the step back beside the rate's 5 s
// window, and primary's p99 once settled beside the objective. Run with
// -benchtime=1x.
func BenchmarkDemoSLO(b *testing.B) {
	var r sloRun
	for range b.N {
		r = runSLODemo(b, b.Name())
	}
	// The least the strategy can take: the recent window (three 1 s
	// scrapes) must show primary queueing.
	const floorUp, rateWindow = 3 * time.Second, 5 * time.Second
	b.ReportMetric(r.SettleUp.Seconds(), "settle-up-s")
	b.ReportMetric(floorUp.Seconds(), "settle-up-floor-s")
	b.ReportMetric(r.SettleDown.Seconds(), "settle-down-s")
	b.ReportMetric(rateWindow.Seconds(), "settle-down-floor-s")
	b.ReportMetric(r.PrimaryP99, "primary-p99-ms")
	b.ReportMetric(sloObjective, "objective-ms")
	b.ReportMetric(r.PrimaryP99/sloObjective, "p99/objective")
	b.ReportMetric(float64(r.Settled.Primary), "settled-primary-%")
	b.ReportMetric(r.ChangesPerMinute, "changes/min")
	b.ReportMetric(float64(r.ChangesUp), "changes-up")
	b.ReportMetric(float64(r.ChangesDown), "changes-down")
}
