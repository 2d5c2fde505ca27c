package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	polling "github.com/cloudburst-demo/cloudburst/pkg/poll"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// buildLine is the launcher's first line: it says what takes the time. The
// burster is built after the page is served (burstLine once it is up).
const (
	buildLine = "demo         | building worker, frontend, localmesh (the first build downloads modules and takes a few minutes)"
	burstLine = "demo         | the burster is up: the split now follows the load"
)

// demoPorts gives every process of the demo a free port, as DEMO_FLAGS.
func demoPorts(t *testing.T) (map[string]int, string) {
	t.Helper()
	ports := map[string]int{}
	var flags []string
	names := []string{"frontend", "worker", "burst-worker", "mesh", "mesh-admin", "burster", "redis"}
	for i, port := range component.FreePorts(t, len(names)) {
		ports[names[i]] = port
		flags = append(flags, "-"+names[i]+"-port", strconv.Itoa(port))
	}
	return ports, strings.Join(flags, " ")
}

// errEnded: make demo exited while the test waited for a line.
var errEnded = errors.New("ended early")

// TestMakeDemoCtrlC runs `make demo` as a person does, in a terminal (a
// real pseudo-terminal), and presses Ctrl-C there once the page is up: the
// terminal interrupts its whole foreground group, make included, and make
// must still end with exit status 0 and no failure message. The first lines
// say what is being built before anything else.
func TestMakeDemoCtrlC(t *testing.T) {
	makeBin := component.Require(t, "apt-get install -y --no-install-recommends make", "make")
	binDir := t.TempDir()
	var (
		ports  map[string]int
		tty    *os.File
		logs   *process.Log
		exited chan error
	)
	// make demo until the page and then the burster are up; a port taken by
	// another test first ends it early, and it is started on other ports.
	err := component.RetryPortTaken(t, "make demo", func() (string, error) {
		var portFlags string
		ports, portFlags = demoPorts(t)
		cmd := exec.Command(makeBin, "--no-print-directory", "demo", "DEMO_FLAGS=-redis embedded -bin "+binDir+" "+portFlags)
		cmd.Dir = repoRoot
		term, err := pty.Start(cmd)
		if err != nil {
			return "", fmt.Errorf("starting make demo in a pseudo-terminal: %w", err)
		}
		tty = term
		t.Cleanup(func() { term.Close() })
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		out, ended := &process.Log{}, make(chan error, 1)
		logs, exited = out, ended
		go func() {
			sc := bufio.NewScanner(term) // ends with EIO once every process left the terminal
			for sc.Scan() {
				out.Add("", strings.TrimRight(sc.Text(), "\r"))
			}
			ended <- cmd.Wait()
		}()
		url := fmt.Sprintf("http://127.0.0.1:%d/", ports["frontend"])
		for _, want := range []string{url, burstLine} {
			err := polling.Until(t.Context(), 5*time.Minute, 200*time.Millisecond, func() error {
				select {
				case err := <-exited:
					exited <- err
					return fmt.Errorf("%w: make demo ended (%v)", errEnded, err)
				default:
				}
				if !slices.ContainsFunc(logs.Lines(), func(l string) bool { return strings.TrimSpace(l) == strings.TrimSpace(want) }) {
					return errors.New("not yet")
				}
				return nil
			})
			if err != nil {
				return logs.Tail(20), fmt.Errorf("make demo printing %s: %w", want, err)
			}
		}
		return "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := logs.Lines()
	if !strings.HasPrefix(lines[0], "building the demo's launcher") || lines[1] != buildLine {
		t.Fatalf("make demo's first lines are %q, want make's line then the launcher's build line %q", lines[:2], buildLine)
	}
	for _, b := range []string{"worker", "frontend", "burster", "localmesh"} {
		if !strings.Contains(logs.String(), "demo         | built "+b+" (") && !strings.Contains(logs.String(), "demo         | "+b+" is up to date") {
			t.Fatalf("no progress line for %s; output:\n%s", b, logs.Tail(40))
		}
	}

	before := len(logs.Lines())
	if _, err := tty.Write([]byte{3}); err != nil { // Ctrl-C, typed into the terminal
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		after := strings.Join(logs.Lines()[before:], "\n")
		if err != nil {
			t.Fatalf("make demo ended with %v after Ctrl-C; output:\n%s", err, after)
		}
		for _, noise := range []string{"Error", "Interrupt", "***", "exit status"} {
			if strings.Contains(after, noise) {
				t.Fatalf("make demo printed %q after a clean Ctrl-C:\n%s", noise, after)
			}
		}
		if !strings.Contains(after, "demo         | stopped") {
			t.Fatalf("the launcher did not say it stopped:\n%s", after)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("make demo did not end within 30s of Ctrl-C; output:\n%s", logs.Tail(40))
	}
	if left := processesUsing(binDir, ports["redis"]); len(left) > 0 {
		t.Fatalf("processes left after make demo stopped: %v", left)
	}
}

// TestMakeDemoBadFlags: a bad flag fails `make demo` before anything is
// built, with one message from the launcher naming the flag.
func TestMakeDemoBadFlags(t *testing.T) {
	makeBin := component.Require(t, "apt-get install -y --no-install-recommends make", "make")
	ports, portFlags := demoPorts(t)
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(ports["burster"]))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tests := []struct {
		name  string
		flags string
		want  string
	}{
		{"port taken", portFlags, fmt.Sprintf("demo: port %d for burster is in use (choose another with -burster-port)", ports["burster"])},
		{"misspelt flag", "-restrat-after 1s", "demo: flag provided but not defined: -restrat-after (make demo DEMO_FLAGS=-help lists the flags)"},
		{"negative restart", "-restart-after=-5s", "demo: -restart-after=-5s is negative"},
		{"unknown redis", "-redis=memory", `demo: -redis="memory" is not one of auto, server, embedded`},
		{"port out of range", "-frontend-port 80800", "demo: -frontend-port=80800 is not a TCP port (1 to 65535)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := t.TempDir()
			cmd := exec.Command(makeBin, "--no-print-directory", "demo", "DEMO_FLAGS=-bin "+bin+" "+tt.flags)
			cmd.Dir = repoRoot
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("make demo %s = %v, want a failure; output:\n%s", tt.flags, err, out)
			}
			if !strings.Contains(string(out), tt.want) || strings.Contains(string(out), "demo         | building") {
				t.Fatalf("output:\n%s\nwant %q and nothing built", out, tt.want)
			}
			if built, _ := os.ReadDir(bin); len(built) > 0 {
				t.Fatalf("%d files built into -bin", len(built))
			}
		})
	}
}
