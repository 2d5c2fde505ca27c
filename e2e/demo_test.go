package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
	"github.com/cloudburst-demo/cloudburst/testkit/redisserver"
)

// Bounds for the demo's magic moment. The burster measures over 5 s and
// waits at least 5 s between changes; these leave room for a loaded CI
// machine without hiding a broken loop.
const (
	burstWithin = 45 * time.Second
	backWithin  = 60 * time.Second
	// judged is how many newly shown hashes must be at least 90% from the
	// expected cluster.
	judged = 10
	// restartAfter is the launcher's delay before it restarts a dead process.
	restartAfter = 15 * time.Second
)

// TestDemo runs `make demo`'s launcher, drives the page like a presenter
// (slider to 25, then to 2) and checks the hashes turn bursty- and back,
// with the embedded Redis and with redis-server. Afterwards nothing of the
// demo may be left running.
func TestDemo(t *testing.T) {
	for _, mode := range []string{"embedded", "server"} {
		t.Run("redis="+mode, func(t *testing.T) {
			if mode == "server" {
				component.Require(t, redisserver.Install, "redis-server")
			}
			runDemo(t, mode)
		})
	}
}

// launched is a running `make demo` launcher.
type launched struct {
	demo    *process.Process
	logs    *process.Log
	ports   map[string]int
	binDir  string
	pageURL string
}

// launch builds and starts the demo's launcher with the given Redis mode
// and extra flags, on free ports, and waits until it says the burster is
// up; the test's end stops it if the test has not.
func launch(t testing.TB, redisMode string, extra ...string) *launched {
	t.Helper()
	launcherBin := filepath.Join(t.TempDir(), "demo")
	build := exec.Command("go", "build", "-o", launcherBin, "./demo/cmd/demo")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the launcher: %v\n%s", err, out)
	}
	l := &launched{binDir: t.TempDir()}
	// The launcher needs its ports named in advance: one taken by another
	// test between FreePort and the bind fails the start, which is tried
	// again on others.
	err := component.RetryPortTaken(t, "starting the demo", func() (string, error) {
		l.ports, l.logs = map[string]int{}, &process.Log{}
		// Long enough for the burster to see the killed worker fail before it
		// is back, on a loaded machine.
		args := append([]string{"-redis", redisMode, "-bin", l.binDir, "-restart-after", restartAfter.String()}, extra...)
		names := []string{"frontend", "worker", "burst-worker", "burst-2-worker", "mesh", "mesh-admin", "burster", "redis"}
		for i, port := range component.FreePorts(t, len(names)) {
			l.ports[names[i]] = port
			args = append(args, "-"+names[i]+"-port", strconv.Itoa(port))
		}
		l.pageURL = fmt.Sprintf("http://127.0.0.1:%d/", l.ports["frontend"])
		var err error
		// Ready once the launcher prints the page's URL on a line of its own
		// and then says the burster, built after the page, is up.
		l.demo, err = process.Start(process.Spec{
			Name: "demo", Path: launcherBin, Args: args, Dir: repoRoot, Lines: l.logs.Add,
			Ready: func() error {
				lines := l.logs.Lines()
				url := slices.IndexFunc(lines, func(line string) bool { return strings.TrimSpace(line) == l.pageURL })
				// Names are padded to the longest process's, which the
				// number of clusters sets.
				if url < 0 || !slices.ContainsFunc(lines[url:], func(line string) bool { return unpadded(line) == burstLine }) {
					return fmt.Errorf("%s and then %q not printed yet", l.pageURL, burstLine)
				}
				return nil
			},
			ReadyTimeout: 3 * time.Minute,
			StopSignal:   syscall.SIGINT, // Ctrl-C, as a presenter stops it
			StopTimeout:  30 * time.Second,
		})
		return l.logs.String(), err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.demo.Stop() })
	return l
}

func runDemo(t *testing.T, redisMode string) {
	l := launch(t, redisMode)
	demo, logs, ports, binDir, pageURL := l.demo, l.logs, l.ports, l.binDir, l.pageURL
	if first := logs.Lines()[0]; first != buildLine {
		t.Fatalf("the launcher's first line is %q, want %q", first, buildLine)
	}
	if !strings.Contains(logs.String(), map[string]string{"embedded": "embedded miniredis", "server": "redis-server from"}[redisMode]) {
		t.Fatalf("the launcher did not say which Redis it runs; output:\n%s", logs.String())
	}

	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.CSS(`#conn.open`)),
		chromedp.Focus(chromedp.ID(`rate`))); err != nil {
		t.Fatalf("opening the page: %v", err)
	}
	w := &hashWatcher{seen: map[string]bool{}}
	w.observe(t, ctx) // what is on the page before the change does not count
	// A presenter opens the page seconds after the start; by then the
	// burster's 5 s scrape window holds idle samples. Without them its first
	// rate spans a single second and the measured reaction is unrealistically
	// fast. Six measurements, one a second, fill it. (The launcher names
	// its policy worker.)
	component.EventuallyNil(t, 30*time.Second, "the burster's window full of idle samples", func() error {
		n, err := promserver.Sample(fmt.Sprintf("http://127.0.0.1:%d/metrics", ports["burster"]), `burster_measurements_total{policy="worker"}`)
		if err == nil && n < 6 {
			err = fmt.Errorf("%v measurements", n)
		}
		return err
	})

	w.restart()
	press(t, ctx, kb.ArrowRight, 25)
	burstTook := w.waitShare(t, ctx, true, burstWithin, logs)
	if err := poll(ctx, `document.getElementById("split-burst-pct").textContent === "100"`, 10*time.Second); err != nil {
		t.Fatalf("the page does not show the burster's split: %v", err)
	}
	// Mid-burst: the burst cluster serves the whole rate and the chart shows it.
	if err := poll(ctx, `Number(document.getElementById("recv-burst").textContent) >= 20`, 15*time.Second); err != nil {
		t.Fatalf("the page does not show the burst cluster's hashes per second: %v", err)
	}
	time.Sleep(4 * time.Second) // a few seconds of burst drawn on the chart, for the screenshot: time is what is shown
	shot(t, ctx, "demo-burst.png")
	if redisMode == "embedded" { // once is enough; it takes half a minute
		killBurstWorker(t, ctx, w, binDir, ports, logs)
	}

	w.restart()
	press(t, ctx, kb.ArrowLeft, 23)
	backTook := w.waitShare(t, ctx, false, backWithin, logs)
	shot(t, ctx, "demo-primary.png")
	if redisMode == "embedded" {
		burstBlocked(t, ctx, w, binDir, ports, logs)
	}

	report := fmt.Sprintf("redis=%s: from the first key press, slider 0->25: 90%% of new hashes bursty- after %s; slider 25->2: plain again after %s\n",
		redisMode, burstTook.Round(100*time.Millisecond), backTook.Round(100*time.Millisecond))
	t.Log(report)
	if err := os.WriteFile(filepath.Join(artifactDir(t), "demo-times-"+redisMode+".txt"), []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}

	// Ctrl-C: everything stops within 30 s with exit 0, nothing is left,
	// every port is free.
	if err := demo.Stop(); err != nil {
		t.Fatalf("the launcher did not exit 0 within 30s of Ctrl-C: %v; output:\n%s", err, logs.Tail(40))
	}
	if left := processesUsing(binDir, ports["redis"]); len(left) > 0 {
		t.Fatalf("processes left after the demo stopped: %v", left)
	}
	for name, p := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d (%s) still taken after the demo stopped: %v", p, name, err)
		}
		ln.Close()
	}
}

// killBurstWorker kills the burst worker while it carries the burst, as a
// crash would: the local mesh's probe finds it not ready, so the burster
// sends everything back to primary at once and the page says why; the
// burster has counted the requests that failed meanwhile against burst; the
// launcher says so and keeps the rest running; once it has restarted the
// worker, the hashes are bursty- again. (Whether the page marks burst
// failing depends on how many failed before the return, under half of the
// window here; TestPageShowsAFailingBurst checks that display.)
func killBurstWorker(t *testing.T, ctx context.Context, w *hashWatcher, binDir string, ports map[string]int, logs *process.Log) {
	t.Helper()
	killed := kill(t, binDir, ports["burst-worker"])
	shownBlocked(t, ctx, restartAfter, logs)
	back := time.Since(killed)
	shot(t, ctx, "demo-burst-blocked-mid-burst.png")
	st := bursterStatus(t, ports)
	burst := st.Destination("burst")
	if !st.Has(v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonBurstNotReady) || burst == nil ||
		burst.ReadyEndpoints == nil || *burst.ReadyEndpoints != 0 || splitOf(st.Weights) != split.AllPrimary {
		t.Fatalf("the burster's status: %+v; want burst blocked with 0 ready, all primary", st)
	}
	if burst.FailedRPS == nil || *burst.FailedRPS <= 0 {
		t.Fatalf("the burster's status shows no failed requests to burst: %+v", burst)
	}
	said := "demo         | !!! burst-worker exited (signal: killed); the rest keeps running; restarting it in " + restartAfter.String()
	if !strings.Contains(logs.String(), said) {
		t.Fatalf("the launcher did not report the death as %q:\n%s", said, logs.Tail(40))
	}
	waitRestarted(t, logs, 1)
	w.restart()
	w.waitShare(t, ctx, true, burstWithin, logs)
	if err := poll(ctx, `!document.getElementById("dest-burst").classList.contains("failing")`, 30*time.Second); err != nil {
		t.Fatalf("the page shows burst failing after the restart: %v", err)
	}
	t.Logf("burst worker killed mid-burst: all back to primary on the page after %s (burst failures counted %.1f req/s), bursty- hashes again after %s",
		back.Round(100*time.Millisecond), *burst.FailedRPS, time.Since(killed).Round(100*time.Millisecond))
}

// burstBlocked stops the burst worker while the load is low, then moves the
// slider to 25: nothing bursts, the page says why, the hashes stay plain;
// once the launcher has restarted the worker, the burst happens.
func burstBlocked(t *testing.T, ctx context.Context, w *hashWatcher, binDir string, ports map[string]int, logs *process.Log) {
	t.Helper()
	killed := kill(t, binDir, ports["burst-worker"])
	press(t, ctx, kb.ArrowRight, 23) // 2 -> 25
	shownBlocked(t, ctx, restartAfter, logs)
	// While the worker is down (as long as the launcher said it waits),
	// the rate is far over 15 and stays on primary.
	var delay time.Duration
	component.EventuallyEvery(t, 10*time.Second, 100*time.Millisecond, "the launcher reporting the second death", func() error {
		m := regexp.MustCompile(`burst-worker exited \(signal: killed\); the rest keeps running; restarting it in (\S+)`).
			FindAllStringSubmatch(logs.String(), -1)
		if len(m) < 2 {
			return fmt.Errorf("%d deaths reported", len(m))
		}
		var err error
		delay, err = time.ParseDuration(m[1][1])
		return err
	})
	w.restart()
	// Observed for as long as the worker stays down: the duration is what is
	// checked, so this loop sleeps between looks rather than waiting for a
	// condition.
	hold := delay - time.Since(killed) - 3*time.Second
	deadline := time.Now().Add(hold)
	for time.Now().Before(deadline) {
		if got := eval[string](t, ctx, `document.getElementById("split-burst-pct").textContent`); got != "0" {
			t.Fatalf("burst share %s%% with the burst worker down:\n%s", got, logs.Tail(40))
		}
		time.Sleep(250 * time.Millisecond)
	}
	w.observe(t, ctx)
	for _, h := range w.fresh {
		if m, err := hashmsg.Parse(h); err != nil || m.Burst() {
			t.Fatalf("hash %q shown while burst was blocked", h)
		}
	}
	if len(w.fresh) < judged {
		t.Fatalf("only %d hashes in %s at 25 req/s: primary did not serve the load", len(w.fresh), hold)
	}
	shot(t, ctx, "demo-burst-blocked.png")
	waitRestarted(t, logs, 2)
	w.restart()
	took := w.waitShare(t, ctx, true, burstWithin, logs)
	t.Logf("slider to 25 with the burst worker down: held on primary for %s (%d plain hashes); bursty- %s after the restart",
		hold.Round(100*time.Millisecond), len(w.fresh), took.Round(100*time.Millisecond))
}

// kill SIGKILLs the worker from binDir on port and returns when.
func kill(t *testing.T, binDir string, port int) time.Time {
	t.Helper()
	if err := syscall.Kill(workerPid(t, binDir, port), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	return time.Now()
}

// shownBlocked waits until the page shows all traffic on primary and says
// that the burst cluster has no ready worker.
func shownBlocked(t *testing.T, ctx context.Context, within time.Duration, logs *process.Log) {
	t.Helper()
	err := poll(ctx, `document.getElementById("split-burst-pct").textContent === "0" && `+
		`document.getElementById("burster-line").textContent.includes("burst cluster: 0 ready workers, so nothing is sent there")`, within)
	if err != nil {
		t.Fatalf("the page does not say burst is blocked within %s: %v (burster line %q)\nlauncher output:\n%s", within, err,
			eval[string](t, ctx, `document.getElementById("burster-line").textContent`), logs.Tail(40))
	}
}

// waitRestarted waits for the launcher's n-th restart of the burst worker.
func waitRestarted(t *testing.T, logs *process.Log, n int) {
	t.Helper()
	component.EventuallyEvery(t, 2*restartAfter+30*time.Second, 250*time.Millisecond, "the burst worker restarted", func() error {
		if got := len(restartedLine.FindAllString(logs.String(), -1)); got < n {
			return fmt.Errorf("%d restarts so far:\n%s", got, logs.Tail(20))
		}
		return nil
	})
}

// restartedLine is the launcher's line for a restart of the burst worker,
// whatever the padding of its names.
var restartedLine = regexp.MustCompile(`(?m)^demo +\| burst-worker restarted \(pid `)

// unpadded is a line of the launcher with its name padded to burstLine's
// width, as it is with two clusters.
func unpadded(line string) string {
	name, text, ok := strings.Cut(line, " | ")
	if !ok {
		return line
	}
	return fmt.Sprintf("%-12s | %s", strings.TrimSpace(name), text)
}

// bursterStatus reads the demo burster's policy's status.
func bursterStatus(t *testing.T, ports map[string]int) v1alpha1.BurstPolicyStatus {
	t.Helper()
	return bursterStatusAt(t, fmt.Sprintf("http://127.0.0.1:%d", ports["burster"]))
}

// workerPid finds the worker started from binDir listening on port.
func workerPid(t *testing.T, binDir string, port int) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		environ, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if strings.TrimRight(string(cmdline), "\x00") == filepath.Join(binDir, "worker") &&
			slices.Contains(strings.Split(string(environ), "\x00"), "PORT="+strconv.Itoa(port)) {
			return pid
		}
	}
	t.Fatalf("no worker from %s on port %d", binDir, port)
	return 0
}

func press(t testing.TB, ctx context.Context, key string, n int) {
	t.Helper()
	for range n {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(key)); err != nil {
			t.Fatal(err)
		}
	}
}

func shot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(artifactDir(t), name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// hashWatcher follows the hashes the page shows and remembers the ones that
// appeared since the last restart, oldest first.
type hashWatcher struct {
	seen  map[string]bool
	fresh []string
	since time.Time
}

// restart starts the clock and the list of new hashes, just before the
// slider is touched.
func (w *hashWatcher) restart() { w.fresh, w.since = w.fresh[:0], time.Now() }

// observe reads the page's list (newest first) and records unseen hashes.
func (w *hashWatcher) observe(t *testing.T, ctx context.Context) {
	t.Helper()
	shown := eval[[]string](t, ctx, listedHashes)
	for i := len(shown) - 1; i >= 0; i-- {
		if h := shown[i]; !w.seen[h] {
			w.seen[h] = true
			w.fresh = append(w.fresh, h)
		}
	}
}

// waitShare waits until at least 90% of the last `judged` hashes shown
// since the restart are from the burst cluster (burst) or the primary one,
// and returns how long that took from the restart.
func (w *hashWatcher) waitShare(t *testing.T, ctx context.Context, burst bool, within time.Duration, logs *process.Log) time.Duration {
	t.Helper()
	start := w.since
	component.EventuallyEvery(t, within, 250*time.Millisecond, fmt.Sprintf("90%% of the last %d new hashes burst=%v", judged, burst), func() error {
		w.observe(t, ctx)
		n := len(w.fresh)
		if n < judged {
			return fmt.Errorf("%d new hashes so far\nlauncher output:\n%s", n, logs.Tail(40))
		}
		match := 0
		for _, h := range w.fresh[n-judged:] {
			m, err := hashmsg.Parse(h)
			if err != nil {
				t.Fatalf("the page shows %q: %v", h, err)
			}
			if m.Burst() == burst {
				match++
			}
		}
		if match*10 < judged*9 {
			return fmt.Errorf("%d new hashes, the last %d: %v\nlauncher output:\n%s", n, judged, w.fresh[n-judged:], logs.Tail(40))
		}
		return nil
	})
	return time.Since(start)
}

// processesUsing lists running processes started from binDir, or a
// redis-server on redisPort.
func processesUsing(binDir string, redisPort int) []string {
	var left []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmdline := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmdline, binDir) ||
			(strings.Contains(cmdline, "redis-server") && strings.Contains(cmdline, ":"+strconv.Itoa(redisPort))) ||
			(strings.Contains(cmdline, "redis-server") && strings.Contains(cmdline, "--port "+strconv.Itoa(redisPort))) {
			left = append(left, e.Name()+": "+cmdline)
		}
	}
	return left
}
