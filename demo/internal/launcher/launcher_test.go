package launcher

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/poll"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
)

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *safeBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// waitFor waits until buf holds want, at most 10 s.
func waitFor(t *testing.T, buf *safeBuffer, want string) {
	t.Helper()
	if err := poll.Until(t.Context(), 10*time.Second, 20*time.Millisecond,
		poll.True("output lacks "+strconv.Quote(want), func() bool { return strings.Contains(buf.String(), want) })); err != nil {
		t.Fatalf("%v:\n%s", err, buf.String())
	}
}

// TestRestartsADeadProcess: a process that dies is reported, the others keep
// running, and it is started again after the delay, doubled while it keeps
// dying; after Stop nothing is restarted and everything is gone promptly.
func TestRestartsADeadProcess(t *testing.T) {
	var buf safeBuffer
	l := New(NewOutput(&buf, 6), 100*time.Millisecond)
	if err := l.Start(process.Spec{Name: "sleepy", Path: "/bin/sh", Args: []string{"-c", "echo hello; exec sleep 60"}}); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(process.Spec{Name: "brief", Path: "/bin/sh", Args: []string{"-c", "echo bye; sleep 0.2; exit 3"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &buf, "demo   | !!! brief exited (exit status 3); the rest keeps running; restarting it in 100ms\n")
	waitFor(t, &buf, "demo   | brief restarted (pid ")
	waitFor(t, &buf, "restarting it in 200ms\n")
	if n := strings.Count(buf.String(), "brief  | bye\n"); n < 2 {
		t.Fatalf("brief ran %d times:\n%s", n, buf.String())
	}
	l.mu.Lock()
	sleepy := l.running[0]
	l.mu.Unlock()
	select {
	case <-sleepy.Done():
		t.Fatal("a dying neighbour stopped sleepy")
	default:
	}

	start := time.Now()
	l.Stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Stop took %s", d)
	}
	<-sleepy.Done()
	// Stop has waited for the supervisors, which own the restart timers, and
	// for every child and its output: nothing may be written after it.
	after := buf.String()
	l.supervisors.Wait()
	if buf.String() != after {
		t.Fatalf("output after Stop:\n%s", strings.TrimPrefix(buf.String(), after))
	}
	if !strings.Contains(after, "sleepy | hello\n") {
		t.Fatalf("output %q lacks sleepy's line", after)
	}
}

// TestRestartOff: with no delay a dead process stays down, and the
// launcher says how to bring it back.
func TestRestartOff(t *testing.T) {
	var buf safeBuffer
	l := New(NewOutput(&buf, 6), 0)
	defer l.Stop()
	if err := l.Start(process.Spec{Name: "brief", Path: "/bin/sh", Args: []string{"-c", "exit 0"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &buf, "demo   | !!! brief exited; the rest keeps running without it. Restarting is off (-restart-after=0): "+
		"press Ctrl-C and run make demo again to bring it back.\n")
	// With restarting off, the dead process's supervisor is done: it has no
	// restart pending. (With one pending it would still be waiting.)
	supervised := make(chan struct{})
	go func() { l.supervisors.Wait(); close(supervised) }()
	select {
	case <-supervised:
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor of a process that exited is still waiting, with restarting off")
	}
	if strings.Contains(buf.String(), "restarted") {
		t.Fatalf("restarted with restarting off:\n%s", buf.String())
	}
}

func TestStartFailsWhenNeverReady(t *testing.T) {
	l := New(NewOutput(&safeBuffer{}, 4), time.Second)
	defer l.Stop()
	err := l.Start(process.Spec{Name: "dies", Path: "/bin/sh", Args: []string{"-c", "exit 1"},
		Ready: func() error { return net.ErrClosed }})
	if err == nil || !strings.Contains(err.Error(), "dies exited before it was ready") {
		t.Fatalf("Start = %v", err)
	}
}

func TestCheckPorts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port
	free := func() int {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}()
	if err := CheckPorts("127.0.0.1", map[string]int{"frontend": free}); err != nil {
		t.Fatalf("free port: %v", err)
	}
	err = CheckPorts("127.0.0.1", map[string]int{"frontend": taken})
	if err == nil || !strings.Contains(err.Error(), "port "+strconv.Itoa(taken)+" for frontend is in use (choose another with -frontend-port)") {
		t.Fatalf("taken port: %v", err)
	}
	if err := CheckPorts("127.0.0.1", map[string]int{"a": free, "b": free}); err == nil {
		t.Fatal("the same port for two processes was accepted")
	}
}
