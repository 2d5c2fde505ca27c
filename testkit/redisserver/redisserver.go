// Package redisserver runs a real redis-server on a free loopback port for
// integration tests, and can stop and restart it on the same port to test
// what clients do when Redis goes away and comes back.
package redisserver

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// Install is how to get redis-server on Debian and Ubuntu.
const Install = "apt-get install -y --no-install-recommends redis-server"

// startTimeout bounds how long a fresh redis-server may take to answer PING.
const startTimeout = 10 * time.Second

// Server is one redis-server process owned by a test.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr string

	t    testing.TB
	bin  string
	port int
	mu   sync.Mutex
	proc *process.Process
}

// Start runs redis-server on a free loopback port, without persistence, and
// stops it when the test ends. It skips the test (fails it in CI) when
// redis-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := component.Require(t, Install, "redis-server")
	s := &Server{t: t, bin: bin}
	if err := component.RetryPortTaken(t, "starting redis-server", func() (string, error) {
		s.port = component.FreePort(t)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
		return s.tryStart()
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Stop stops the server and waits for it to exit. Stopping a stopped server
// does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	_ = s.proc.Stop()
	s.proc = nil
}

// Pid is the running server's process ID.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		s.t.Fatal("redis-server is not running")
	}
	return s.proc.Pid()
}

// Freeze stops the server's process (SIGSTOP) without closing anything: its
// connections stay open and new ones are still accepted by the kernel, but
// nothing is answered, as with a server stalled on a slow disk. Thaw
// resumes it.
func (s *Server) Freeze() { s.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server (SIGCONT).
func (s *Server) Thaw() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		s.t.Fatal("redis-server is not running")
	}
	if err := syscall.Kill(s.proc.Pid(), sig); err != nil {
		s.t.Fatalf("signalling redis-server: %v", err)
	}
}

// Restart starts the server again on the same port after Stop.
func (s *Server) Restart() {
	s.t.Helper()
	s.start()
}

func (s *Server) start() {
	s.t.Helper()
	if out, err := s.tryStart(); err != nil {
		s.t.Fatalf("starting redis-server on %s: %v\n%s", s.Addr, err, out)
	}
}

// tryStart runs redis-server on s.port and returns what it printed when it
// did not become ready.
func (s *Server) tryStart() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return "", errors.New("redis-server already running")
	}
	out := &process.Log{}
	p, err := process.Start(process.Spec{
		Name: "redis-server", Path: s.bin,
		Args: []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"},
		Lines: func(name, line string) {
			out.Add(name, line)
			s.t.Logf("%s: %s", name, line)
		},
		Ready:        func() error { return Ping(s.Addr) },
		ReadyTimeout: startTimeout,
	})
	if err != nil {
		return out.Tail(5), err
	}
	s.proc = p
	return "", nil
}

// Ping speaks just enough RESP to know a server at addr is up, so this package
// needs no Redis client.
func Ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}
