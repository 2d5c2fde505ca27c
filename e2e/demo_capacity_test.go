package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/meshapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// The capacity test's timing: primary loses half its capacity this long
// after the burster is up (the launcher's -primary-capacity-at), time
// enough to settle at 40 req/s first; a probe is due this long after the
// last queueing (-slo-probe, short so the test is).
const (
	capacityFallAt = 75 * time.Second
	capacityProbe  = 60 * time.Second
)

// TestDemoSLOCapacityChange: primary's capacity changes while the demo runs
// at 40 req/s, as a cluster that loses half its nodes and gets them back.
// 20 -> 10 (scheduled by the launcher's flag): the split settles again
// within 8 s with primary carrying 90 to 100% of the new capacity. 10 -> 20
// (through the local mesh's admin API): primary carries 18 req/s or more
// within SLO_PROBE and two windows of the rise.
func TestDemoSLOCapacityChange(t *testing.T) {
	l := launch(t, "embedded", "-strategy=slo", "-slo-probe="+capacityProbe.String(),
		"-primary-capacity-at="+capacityFallAt.String()+"=10")
	up := time.Now() // the launcher's schedule counts from here, give or take its line
	ctx := l.openPage(t)
	bursterURL, frontendURL := l.url("burster"), l.url("frontend")
	press(t, ctx, kb.ArrowRight, 40)
	settle(t, bursterURL, up, func(w split.Split) bool { return w.Spilled() > 0 })
	if time.Since(up) > capacityFallAt {
		t.Fatalf("settled at 40 req/s only %s after the burster was up, after the capacity's scheduled fall", time.Since(up).Round(time.Second))
	}

	// 20 -> 10, from the launcher's schedule.
	fallLine := fmt.Sprintf("primary's capacity is now 10 requests a second (-primary-capacity-at, %s in)", capacityFallAt)
	component.EventuallyNil(t, capacityFallAt+30*time.Second, "the launcher's capacity change", func() error {
		if !strings.Contains(l.logs.String(), fallLine) {
			return fmt.Errorf("%q not printed", fallLine)
		}
		return nil
	})
	fell := time.Now()
	w, last := settle(t, bursterURL, fell, func(split.Split) bool { return true })
	resettle := last.Sub(fell)
	page := frontendStatus(t, frontendURL)
	carried := float64(page.Latency.Clusters[0].Requests-page.Latency.Clusters[0].Failed) / float64(page.Latency.WindowSeconds)
	t.Logf("capacity 20 -> 10 at 40 req/s: settled again at %v after %s in %d changes, primary answers %.1f req/s",
		w, resettle.Round(100*time.Millisecond), changesSince(t, bursterURL, fell), carried)
	logChanges(t, bursterURL, fell)
	if resettle > maxSettle || carried < 9 || carried > 10 {
		t.Fatalf("capacity 20 -> 10: settled again after %s (want at most %s), primary answers %.1f req/s (want 9 to 10)", resettle, maxSettle, carried)
	}

	// 10 -> 20, through the admin API. The probe is due SLO_PROBE after
	// the last queueing, which the fall's re-settling ended, so before
	// SLO_PROBE has passed since the rise.
	setPrimaryCapacity(t, l.url("mesh-admin"), 20)
	rose := time.Now()
	due := rose.Add(capacityProbe + 2*sloWindow)
	// Reached when the burster gives primary 18 req/s of the 40 (the local
	// mesh applies a split from the next request on), confirmed by the
	// burster's own measure of what primary answered, which lags by its
	// 5 s window.
	var reached time.Time
	component.EventuallyEvery(t, time.Until(due)+time.Minute, time.Second, "primary carrying 18 req/s again", func() error {
		d := bursterStatusAt(t, bursterURL).Destination("primary")
		if d == nil || d.RateRPS == nil || d.FailedRPS == nil || *d.RateRPS-*d.FailedRPS < 18 {
			return fmt.Errorf("primary %+v", d)
		}
		for _, c := range changesAt(t, bursterURL) {
			if c.Reason == v1alpha1.ChangeWeightsChanged && c.Time.After(last) && float64(splitOf(c.Weights).Weight(0))*40/100 >= 18 {
				reached = c.Time.Time
				return nil
			}
		}
		return errors.New("primary answers 18 req/s, but no change gave it that share")
	})
	logChanges(t, bursterURL, last)
	t.Logf("capacity 10 -> 20: primary given 18 req/s %s after the rise, %s after its last queueing (SLO_PROBE %s and two windows: %s)",
		reached.Sub(rose).Round(100*time.Millisecond), reached.Sub(last).Round(100*time.Millisecond), capacityProbe, capacityProbe+2*sloWindow)
	if reached.After(due) {
		t.Fatalf("primary given 18 req/s %s after the rise, want within SLO_PROBE and two windows", reached.Sub(rose).Round(time.Second))
	}
}

// logChanges logs the burster's weight changes after since, with their
// reasons.
func logChanges(t testing.TB, bursterURL string, since time.Time) {
	t.Helper()
	for _, c := range changesAt(t, bursterURL) {
		if c.Reason == v1alpha1.ChangeWeightsChanged && c.Time.After(since) {
			t.Logf("%s after: -> %v: %s", c.Time.Sub(since).Round(100*time.Millisecond), splitOf(c.Weights), c.Message)
		}
	}
}

// setPrimaryCapacity sets primary's capacity through the local mesh's admin
// API.
func setPrimaryCapacity(t testing.TB, adminURL string, rps float64) {
	t.Helper()
	body, err := json.Marshal(meshapi.Capacity{PrimaryRPS: rps})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPut, adminURL+meshapi.CapacityPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s: %s", meshapi.CapacityPath, resp.Status)
	}
}
