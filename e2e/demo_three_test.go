package e2e

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// TestDemoThreeClusters runs `make demo DEMO_FLAGS="-clusters=3
// -strategy=spillover -capacities=20,20,0"` and drives it at 50 req/s with
// the page open in Chromium. The burster fills primary to 20 req/s, burst
// to 20, and burst-2 takes the rest: the split settles at 40/40/20, and the
// page shows each cluster's hashes a second (bursty2- ones in a third
// colour) within 25% of 20, 20 and 10. The burst worker killed: its share
// moves to burst-2 (40/0/60), the page says burst has no ready worker, and
// once the launcher has restarted it the split is 40/40/20 again. The
// closing log gives the settle time, the time the share took to move and
// the requests that failed meanwhile.
func TestDemoThreeClusters(t *testing.T) {
	l := launch(t, "embedded", "-clusters=3", "-strategy=spillover", "-capacities=20,20,0")
	if !strings.Contains(l.logs.String(), "burst-2-worker is up") {
		t.Fatalf("the launcher did not start a third worker:\n%s", l.logs.Tail(30))
	}
	ctx := l.openPage(t)
	bursterURL, frontendURL := l.url("burster"), l.url("frontend")
	spill := split.Home("primary", "burst", "burst-2").WithWeights(40, 40, 20)

	step := time.Now()
	setRate(t, frontendURL, 50)
	settled := waitSplit(t, bursterURL, spill, time.Minute)
	settleUp := settled.Sub(step)

	// The page: the split the burster set, with a share for burst-2, and
	// each cluster's hashes a second near its share of 50.
	near := func(id string, want float64) string {
		return fmt.Sprintf(`Math.abs(Number(document.getElementById(%q).textContent) - %g) <= %g`, id, want, want/4)
	}
	err := poll(ctx, `document.getElementById("split-primary-pct").textContent === "40" && `+
		`document.getElementById("split-burst-pct").textContent === "40" && `+
		`document.getElementById("split-burst-2-pct").textContent === "20" && `+
		near("recv-primary", 20)+" && "+near("recv-burst", 20)+" && "+near("recv-burst-2", 10)+" && "+
		`document.getElementById("burster-line").textContent.includes("burst cluster: 1 ready worker; burst-2 cluster: 1 ready worker") && `+
		`Array.from(document.querySelectorAll("#hashes li.burst-2")).some(li => li.textContent.startsWith("bursty2-"))`, 30*time.Second)
	if err != nil {
		t.Fatalf("the page at 50 req/s: %v\nsplit %q, hashes a second %q", err,
			eval[string](t, ctx, `document.getElementById("split-display").innerText`),
			eval[string](t, ctx, `document.querySelector(".figures").innerText`))
	}
	received := eval[[]float64](t, ctx, `["primary", "burst", "burst-2"].map(n => Number(document.getElementById("recv-" + n).textContent))`)
	shot(t, ctx, "demo-three-clusters.png")

	// The burst worker killed: its share goes on to burst-2 at once.
	failedBefore := frontendStatus(t, frontendURL).Failed
	killed := kill(t, l.binDir, l.ports["burst-worker"])
	moved := waitSplit(t, bursterURL, split.Home("primary", "burst", "burst-2").WithWeights(40, 0, 60), restartAfter)
	away := moved.Sub(killed)
	// What failed until the mesh stopped sending to burst: the requests in
	// flight at the move are answered within the request timeout.
	time.Sleep(3 * time.Second) // the frontend's 2 s request timeout and a second of its status
	failed := frontendStatus(t, frontendURL).Failed - failedBefore
	st := bursterStatusAt(t, bursterURL)
	if !st.Has(v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonBurstNotReady) || !strings.Contains(conditionMessage(st, v1alpha1.ConditionDegraded), "burst") {
		t.Errorf("with the burst worker down the status' conditions are %+v", st.Conditions)
	}
	if err := poll(ctx, `document.getElementById("split-burst-pct").textContent === "0" && `+
		`document.getElementById("split-burst-2-pct").textContent === "60" && `+
		`document.getElementById("burster-line").textContent.includes("burst cluster: 0 ready workers, so nothing is sent there")`, 10*time.Second); err != nil {
		t.Errorf("the page with the burst worker down: %v (%q)", err, eval[string](t, ctx, `document.getElementById("burster-line").textContent`))
	}
	shot(t, ctx, "demo-three-clusters-burst-down.png")

	// Back once the launcher has restarted it.
	waitRestarted(t, l.logs, 1)
	restarted := time.Now()
	back := waitSplit(t, bursterURL, spill, time.Minute)
	t.Logf("three clusters at 50 req/s: 40/40/20 %s after the rate was set; the page received %.1f / %.1f / %.1f hashes a second; "+
		"burst killed: 40/0/60 %s later, %d requests failed; burst restarted: 40/40/20 again %s after the launcher said so",
		settleUp.Round(100*time.Millisecond), received[0], received[1], received[2],
		away.Round(time.Millisecond), failed, back.Sub(restarted).Round(100*time.Millisecond))
	if away > 2*time.Second {
		t.Errorf("burst's share moved %s after its worker was killed, want within 2 s", away.Round(time.Millisecond))
	}
	if failed > 20 {
		t.Errorf("%d requests failed while burst's share moved, want at most 20", failed)
	}
}

// TestDemoThreeClustersSLO runs `make demo DEMO_FLAGS="-clusters=3
// -strategy=slo -capacities=20,20,0"` and drives it at 50 req/s. The slo
// strategy learns primary's capacity from its queueing and holds it at its
// objective; what leaves primary fills burst up to its 20 req/s less the
// margin primary keeps (5%) and burst-2 takes the rest: the burster's split sends each cluster within 25%
// of 20, 20 and 10 req/s, and the page, opened in Chromium once it has,
// shows each cluster's hashes a second within 25% of those on average over
// ten seconds, the split still so after them. The burst worker killed: its
// share moves on to burst-2 within 2 s with at most 20 failed requests,
// and comes back once the launcher has restarted it. The closing log gives
// the settle time, the time the share took to move and the requests that
// failed meanwhile.
func TestDemoThreeClustersSLO(t *testing.T) {
	l := launch(t, "embedded", "-clusters=3", "-strategy=slo", "-capacities=20,20,0")
	bursterURL, frontendURL := l.url("burster"), l.url("frontend")
	want := []float64{20, 20, 10} // req/s at 50 req/s, in spill order
	within := func(s split.Split) error {
		for i, w := range want {
			if got := 50 * float64(s.Weight(i)) / 100; math.Abs(got-w) > w/4 {
				return fmt.Errorf("%v sends %s %.1f req/s of 50, want %g ± 25%%", s, s.Name(i), got, w)
			}
		}
		return nil
	}

	// 10 req/s, within primary's capacity: all of it at home, judged
	// within its objective.
	setRate(t, frontendURL, 10)
	component.EventuallyNil(t, time.Minute, "primary judged within its objective at 10 req/s", func() error {
		st := bursterStatusAt(t, bursterURL)
		if d := st.Destination("primary"); d == nil || d.Burn == nil || *d.Burn > 1 {
			return fmt.Errorf("primary %+v", d)
		}
		if w := splitOf(st.Weights); w != split.Home("primary", "burst", "burst-2") {
			return fmt.Errorf("weights %v", w)
		}
		return nil
	})

	failedBefore := frontendStatus(t, frontendURL).Failed
	step := time.Now()
	setRate(t, frontendURL, 50)
	settledAt := waitWeights(t, bursterURL, "each cluster within 25% of 20, 20 and 10 req/s", func(s split.Split) bool { return within(s) == nil }, 90*time.Second)
	settleUp := settledAt.Sub(step)

	// The page: each cluster's hashes a second, averaged over ten seconds
	// (one second's count is a whole number, noisy by one).
	ctx := l.openPage(t)
	if err := poll(ctx, `Array.from(document.querySelectorAll("#hashes li.burst-2")).some(li => li.textContent.startsWith("bursty2-"))`, 10*time.Second); err != nil {
		t.Fatalf("no bursty2- hash in burst-2's colour on the page: %v", err)
	}
	settled := make([]float64, len(want))
	const seconds = 10
	for range seconds {
		time.Sleep(time.Second)
		for i, v := range eval[[]float64](t, ctx, `["primary", "burst", "burst-2"].map(n => Number(document.getElementById("recv-" + n).textContent))`) {
			settled[i] += v / seconds
		}
	}
	shot(t, ctx, "demo-slo-three-clusters.png")
	failedUp := frontendStatus(t, frontendURL).Failed - failedBefore
	st := bursterStatusAt(t, bursterURL)
	for i, w := range want {
		if math.Abs(settled[i]-w) > w/4 {
			t.Fatalf("the page shows %.1f / %.1f / %.1f hashes a second over ten seconds, want within 25%% of 20, 20 and 10; the burster's split %v, its last changes %+v",
				settled[0], settled[1], settled[2], splitOf(st.Weights), st.Changes)
		}
	}
	if err := within(splitOf(st.Weights)); err != nil {
		t.Fatalf("ten seconds after it settled: %v; the burster's last changes %+v", err, st.Changes)
	}
	before := splitOf(bursterStatusAt(t, bursterURL).Weights)

	// The burst worker killed: its share goes on to burst-2 at once.
	failedBefore = frontendStatus(t, frontendURL).Failed
	killed := kill(t, l.binDir, l.ports["burst-worker"])
	moved := waitWeights(t, bursterURL, "burst's share on burst-2", func(s split.Split) bool {
		return s.Weight(1) == 0 && s.Weight(2) >= before.Weight(2)+before.Weight(1)/2
	}, restartAfter)
	away := moved.Sub(killed)
	time.Sleep(3 * time.Second) // the frontend's 2 s request timeout and a second of its status
	failed := frontendStatus(t, frontendURL).Failed - failedBefore
	down := splitOf(bursterStatusAt(t, bursterURL).Weights)

	// Back once the launcher has restarted it.
	waitRestarted(t, l.logs, 1)
	restarted := time.Now()
	back := waitWeights(t, bursterURL, "a share on burst again", func(s split.Split) bool { return s.Weight(1) > 0 }, time.Minute)
	t.Logf("three clusters under slo, 10 -> 50 req/s: settled %s after the rate was set (split %v), the page at %.1f / %.1f / %.1f hashes a second over ten seconds, "+
		"%d requests failed meanwhile; "+
		"burst killed: %v %s later, %d requests failed; burst restarted: a share on burst again %s after the launcher said so",
		settleUp.Round(100*time.Millisecond), before, settled[0], settled[1], settled[2], failedUp,
		down, away.Round(time.Millisecond), failed, back.Sub(restarted).Round(100*time.Millisecond))
	if away > 2*time.Second {
		t.Errorf("burst's share moved %s after its worker was killed, want within 2 s", away.Round(time.Millisecond))
	}
	if failed > 20 {
		t.Errorf("%d requests failed while burst's share moved, want at most 20", failed)
	}
}

// waitSplit waits until the burster's weights are want and returns when
// they were set, by the status' changes (the time the poll saw them when
// no change records it).
func waitSplit(t *testing.T, bursterURL string, want split.Split, within time.Duration) time.Time {
	t.Helper()
	return waitWeights(t, bursterURL, "the split "+want.String(), func(s split.Split) bool { return s == want }, within)
}

// waitWeights waits until the burster's weights are what ok accepts and
// returns when they were set, by the last of the status' changes to
// weights ok accepts (the time the poll saw them when none records it).
func waitWeights(t *testing.T, bursterURL, what string, ok func(split.Split) bool, within time.Duration) time.Time {
	t.Helper()
	var at time.Time
	component.EventuallyEvery(t, within, 100*time.Millisecond, what, func() error {
		st := bursterStatusAt(t, bursterURL)
		if got := splitOf(st.Weights); !ok(got) {
			return fmt.Errorf("weights %v; conditions %+v", got, st.Conditions)
		}
		at = time.Now()
		for _, c := range st.Changes {
			if c.Reason != v1alpha1.ChangeDryRun && ok(splitOf(c.Weights)) {
				at = c.Time.Time
			}
		}
		return nil
	})
	return at
}

// conditionMessage is the message of the status' condition of type, or "".
func conditionMessage(st v1alpha1.BurstPolicyStatus, typ string) string {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c.Message
		}
	}
	return ""
}
