package launcher

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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

func TestPrefixesStopsAndReportsDeath(t *testing.T) {
	var buf safeBuffer
	l := New(NewOutput(&buf, 6))
	if err := l.Start(process.Spec{Name: "sleepy", Path: "/bin/sh", Args: []string{"-c", "echo hello; exec sleep 60"}}); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(process.Spec{Name: "brief", Path: "/bin/sh", Args: []string{"-c", "echo bye; sleep 0.2; exit 3"}}); err != nil {
		t.Fatal(err)
	}
	err := l.Wait(context.Background())
	if err == nil || !strings.Contains(err.Error(), "brief exited: exit status 3") {
		t.Fatalf("Wait = %v, want the dead child named", err)
	}
	start := time.Now()
	l.Stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Stop took %s: SIGTERM did not stop sleep", d)
	}
	out := buf.String()
	for _, want := range []string{"sleepy | hello\n", "brief  | bye\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output %q lacks %q", out, want)
		}
	}
}

func TestStartFailsWhenNeverReady(t *testing.T) {
	l := New(NewOutput(&safeBuffer{}, 4))
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
