package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
)

// installChromium is how to get the browser on Debian and Ubuntu (on macOS:
// brew install --cask google-chrome).
const installChromium = "apt-get install -y --no-install-recommends chromium"

// browsers are the names the browser goes by on PATH, then where macOS
// keeps Chrome and Chromium, which are not on PATH.
var browsers = []string{"chromium", "chromium-browser", "google-chrome",
	"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome", "/Applications/Chromium.app/Contents/MacOS/Chromium"}

// browser starts headless Chromium with a fresh profile and no background
// traffic (the test machines have no internet).
func browser(t testing.TB) context.Context {
	t.Helper()
	exe := component.Require(t, installChromium, browsers...)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// poll waits until the JavaScript condition holds on the page.
func poll(ctx context.Context, cond string, timeout time.Duration) error {
	return chromedp.Do(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(timeout)))
}

// eval returns the value of a JavaScript expression on the page.
func eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

const (
	listedHashes            = `Array.from(document.querySelectorAll("#hashes li")).map(li => li.textContent)`
	listedHashesAndClusters = `Array.from(document.querySelectorAll("#hashes li")).map(li => [li.textContent, li.className])`
)

// TestPageShowsHashesAtTheSliderRate: the slider, moved with the keyboard as
// a person would, sets the rate; hashes appear on the page as text, newest
// first, in a bounded list; another page shows the same rate.
func TestPageShowsHashesAtTheSliderRate(t *testing.T) {
	s := startStack(t, "bursty-", nil)
	ctx := browser(t)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.frontend.base),
		chromedp.WaitVisible(chromedp.CSS(`#conn.open`)),
		chromedp.Focus(chromedp.ID(`rate`)),
	); err != nil {
		t.Fatalf("opening the page: %v", err)
	}
	// 25 presses of the right arrow: 0 → 25 requests/s.
	for range 25 {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowRight)); err != nil {
			t.Fatal(err)
		}
	}
	if got := eval[string](t, ctx, `document.getElementById("rate-value").textContent`); got != "25" {
		t.Fatalf("slider readout %q, want 25", got)
	}
	if err := poll(ctx, `document.getElementById("target").textContent === "25"`, 10*time.Second); err != nil {
		t.Fatalf("the server's target rate did not become 25: %v", err)
	}
	if err := poll(ctx, `document.querySelectorAll("#hashes li").length >= 20`, 20*time.Second); err != nil {
		t.Fatalf("no hashes on the page: %v", err)
	}
	// Each hash is shown as the server classified it: the page derives
	// nothing from the text.
	for _, li := range eval[[][2]string](t, ctx, listedHashesAndClusters) {
		if m, err := hashmsg.Parse(li[0]); err != nil || m.Prefix != "bursty-" || li[1] != string(m.Cluster()) {
			t.Fatalf("page shows %q as %q: not a hash from this worker, or not shown as its cluster (%v)", li[0], li[1], err)
		}
	}

	// Bounded: at 25/s the list fills to 100 and stays there.
	if err := poll(ctx, `document.querySelectorAll("#hashes li").length === 100`, 30*time.Second); err != nil {
		t.Fatalf("list did not reach its bound of 100: %v", err)
	}
	// Newest first: a hash published now appears at the top.
	if err := putRate(ctx, s.frontend.base, 0); err != nil {
		t.Fatal(err)
	}
	// Every hash the worker published has reached the frontend, which passes
	// them on in order: a marker published now comes after all of them.
	component.EventuallyNil(t, 10*time.Second, "the last hashes reaching the frontend", func() error {
		published, err := promserver.Sample(s.worker.base+"/metrics", "worker_hashes_published_total")
		if err != nil {
			return err
		}
		received, err := promserver.Sample(s.frontend.base+"/metrics", `hashfeed_messages_total{cluster="burst"}`)
		if err != nil {
			return err
		}
		inFlight, err := promserver.Sample(s.frontend.base+"/metrics", "loadgen_in_flight")
		if err != nil {
			return err
		}
		if inFlight != 0 || received != published {
			return fmt.Errorf("in flight %v, %v of %v hashes received", inFlight, received, published)
		}
		return nil
	})
	marker := publishMarker(t, s)
	if err := poll(ctx, `document.querySelector("#hashes li").textContent === `+strconv.Quote(marker), 10*time.Second); err != nil {
		t.Fatalf("a newly published hash did not appear first: %v", err)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#hashes li").length`); n != 100 {
		t.Fatalf("list has %d items, want it bounded at 100", n)
	}

	// The rate is the deployment's: a change made elsewhere shows on a new
	// page and on the open one.
	if err := putRate(ctx, s.frontend.base, 12); err != nil {
		t.Fatal(err)
	}
	tab, cancel := chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(tab, chromedp.Navigate(s.frontend.base)); err != nil {
		t.Fatal(err)
	}
	both := `document.getElementById("rate").value === "12" && document.getElementById("target").textContent === "12"`
	if err := poll(tab, both, 10*time.Second); err != nil {
		t.Fatalf("second page did not show the rate set elsewhere: %v", err)
	}
	if err := poll(ctx, both, 10*time.Second); err != nil {
		t.Fatalf("first page did not follow the rate set elsewhere: %v", err)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifactDir(t), "page.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// TestPageReconnects: when the frontend goes away and comes back, the open
// page says so, reconnects by itself and shows new hashes without a reload.
func TestPageReconnects(t *testing.T) {
	s := startStack(t, "", nil)
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.frontend.base),
		chromedp.WaitVisible(chromedp.CSS(`#conn.open`)),
	); err != nil {
		t.Fatalf("opening the page: %v", err)
	}

	s.frontend.stop(t)
	if err := poll(ctx, `document.getElementById("conn").classList.contains("closed")`, 10*time.Second); err != nil {
		t.Fatalf("page did not show the lost connection: %v", err)
	}
	s.frontend = s.frontend.restart(t)
	if err := poll(ctx, `document.getElementById("conn").classList.contains("open")`, 15*time.Second); err != nil {
		t.Fatalf("page did not reconnect: %v", err)
	}
	marker := publishMarker(t, s)
	if err := poll(ctx, `document.querySelector("#hashes li")?.textContent === `+strconv.Quote(marker), 10*time.Second); err != nil {
		t.Fatalf("no hashes after reconnecting: %v", err)
	}
}

// TestPageShowsAFailingBurst: what the burster's status says about the
// destinations and the burst cluster reaches the page: a burst share
// answering errors is marked failing with its numbers, and a blocked burst
// is said to be; a burster that stops answering is said to. The burster here is a stand-in serving that status; the
// burster's own tests prove it measures and reports it.
func TestPageShowsAFailingBurst(t *testing.T) {
	rps, failed, zero, ten, ready, reachable := 25.0, 16.2, 0.0, 10.0, int32(0), true
	p := v1alpha1.BurstPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: "worker"},
		Spec: v1alpha1.BurstPolicySpec{Route: v1alpha1.Route{VirtualService: &v1alpha1.ObjectName{Name: "worker"}},
			Destinations: []v1alpha1.Destination{{Name: "primary", Subset: "primary"}, {Name: "burst", Subset: "burst"}},
			Strategy:     v1alpha1.Strategy{Type: v1alpha1.StrategySwitch, HighRPS: 15, LowRPS: &ten}},
		Status: v1alpha1.BurstPolicyStatus{
			Weights: []v1alpha1.DestinationWeight{{Name: "primary", Weight: 100}, {Name: "burst", Weight: 0}}, Split: "100/0", RateRPS: &rps,
			Destinations: []v1alpha1.DestinationStatus{{Name: "primary", RateRPS: &zero, FailedRPS: &zero},
				{Name: "burst", RateRPS: &rps, FailedRPS: &failed, Failing: true, ReadyEndpoints: &ready, Reachable: &reachable}},
			Conditions: []metav1.Condition{{Type: v1alpha1.ConditionDegraded, Status: metav1.ConditionTrue,
				Reason: string(v1alpha1.ReasonBurstNotReady), Message: "burst has no ready worker"}},
		},
	}
	burster := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != bursterapi.StatusPath || r.URL.Query().Get(bursterapi.PolicyParam) != "worker" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set(bursterapi.LeaderHeader, "true")
		_ = json.NewEncoder(w).Encode(p)
	}))
	defer burster.Close()
	s := startStack(t, "", map[string]string{"BURSTER_URL": burster.URL})
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.frontend.base)); err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, `document.getElementById("dest-burst").classList.contains("failing")`, 15*time.Second); err != nil {
		t.Fatalf("the page does not mark burst failing: %v", err)
	}
	if got := eval[string](t, ctx, `document.getElementById("dest-burst").textContent`); got != "failing: 16.2 of 25.0 req/s" {
		t.Fatalf("the burst share reads %q", got)
	}
	line := eval[string](t, ctx, `document.getElementById("burster-line").textContent`)
	if !strings.Contains(line, "burst cluster: 0 ready workers, so nothing is sent there") {
		t.Fatalf("the burster line reads %q", line)
	}
	if got := eval[string](t, ctx, `document.getElementById("dest-primary").textContent`); got != "" {
		t.Fatalf("the primary share, sent nothing, reads %q", got)
	}

	// A burster that stops answering is said on the page, not hidden.
	burster.Close()
	gone := `burster: the burster does not answer (still starting, or down)`
	if err := poll(ctx, `document.getElementById("burster-line").textContent === "`+gone+`" && `+
		`document.getElementById("burster-line").classList.contains("warning")`, 15*time.Second); err != nil {
		t.Fatalf("the page does not say the burster is gone: %v; the line reads %q", err,
			eval[string](t, ctx, `document.getElementById("burster-line").textContent`))
	}
}
