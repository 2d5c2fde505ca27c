package process_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/poll"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
)

// The test binary doubles as a launcher: with helperEnv set it starts a
// child through process.Start, prints the child's pid and waits to be
// killed. watchdogEnv makes every Start in the binary use the watchdog,
// the fallback for kernels without a parent-death signal.
const (
	helperEnv   = "PROCESS_TEST_LAUNCHER"
	watchdogEnv = "PROCESS_TEST_WATCHDOG"
)

func TestMain(m *testing.M) {
	if os.Getenv(watchdogEnv) == "1" {
		process.UseWatchdog()
	}
	if os.Getenv(helperEnv) == "1" {
		launch()
		return
	}
	os.Exit(m.Run())
}

// launch starts a long sleep as a child, says its pid, and blocks until this
// process is killed.
func launch() {
	p, err := process.Start(process.Spec{Name: "sleeper", Path: "/bin/sleep", Args: []string{"300"}})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(p.Pid())
	select {}
}

// TestOrphansAreKilled kills a launcher outright (SIGKILL: it runs no code
// of its own) and checks that its child does not outlive it, by the
// kernel's parent-death signal (Linux) and by the watchdog (every platform).
func TestOrphansAreKilled(t *testing.T) {
	for _, tt := range []struct {
		name     string
		watchdog bool
	}{{"kernel", false}, {"watchdog", true}} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"=1")
			if tt.watchdog {
				cmd.Env = append(cmd.Env, watchdogEnv+"=1")
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			pid, convErr := strconv.Atoi(strings.TrimSpace(line))
			if err != nil || convErr != nil {
				_ = cmd.Process.Kill()
				t.Fatalf("launcher said %q (%v)", line, err)
			}
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
			if !alive(pid) {
				t.Fatalf("child %d is not running before its launcher is killed", pid)
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			if err := poll.Until(t.Context(), 10*time.Second, 20*time.Millisecond,
				poll.True(fmt.Sprintf("child %d still running", pid), func() bool { return !alive(pid) })); err != nil {
				t.Fatalf("its launcher killed: %v", err)
			}
		})
	}
}

// alive reports whether pid is a running process: not gone, and not a
// zombie that its new parent has yet to reap.
func alive(pid int) bool {
	out, err := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
	state := strings.TrimSpace(string(out))
	return err == nil && state != "" && !strings.HasPrefix(state, "Z")
}

// TestWithWatchdog runs every other test of the package again with each
// child guarded by the watchdog, so the path macOS takes is proven on
// Linux too: starting, readiness, stopping and exit statuses are the same.
func TestWithWatchdog(t *testing.T) {
	if os.Getenv(watchdogEnv) == "1" {
		t.Skip("already running with the watchdog")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^Test(StartReadyStop|StartFailures|StopEscalates|LongLinesAreBounded)$", "-test.v")
	cmd.Env = append(os.Environ(), watchdogEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestStopEscalates") {
		t.Fatalf("with the watchdog: %v\n%s", err, out)
	}
}
