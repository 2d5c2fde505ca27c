// Package launcher runs the demo's processes: it starts each one, waits until
// it is ready, prefixes its log lines with its name, and stops them all
// (SIGTERM, then SIGKILL) when asked or when one of them dies.
package launcher

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Timeouts: how long a process may take to become ready, and to exit after
// SIGTERM before it is killed.
const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// Proc is a process to run.
type Proc struct {
	Name  string
	Path  string
	Args  []string
	Env   map[string]string // added to the launcher's environment
	Ready func() error      // nil: ready once started
}

// Launcher owns the running processes.
type Launcher struct {
	out    *Output
	exited chan exit

	mu      sync.Mutex
	running []*running
}

type running struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

type exit struct {
	name string
	err  error
}

// New returns a Launcher writing prefixed output to out.
func New(out *Output) *Launcher {
	return &Launcher{out: out, exited: make(chan exit, 16)}
}

// Start runs p and waits until it is ready. A process that exits before it
// is ready is an error.
func (l *Launcher) Start(p Proc) error {
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = os.Environ()
	for k, v := range p.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// Own process group: Ctrl-C reaches the launcher only, which stops the
	// children in order. Pdeathsig: if the launcher is killed outright, the
	// kernel kills the children too, so nothing is left behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	r := &running{name: p.Name, cmd: cmd, done: make(chan struct{})}
	copied := make(chan struct{})
	go func() {
		l.out.Copy(p.Name, pipe)
		close(copied)
	}()
	go func() {
		<-copied
		r.err = cmd.Wait()
		close(r.done)
		l.exited <- exit{p.Name, r.err}
	}()
	l.mu.Lock()
	l.running = append(l.running, r)
	l.mu.Unlock()

	if p.Ready == nil {
		return nil
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		err := p.Ready()
		if err == nil {
			return nil
		}
		select {
		case <-r.done:
			return fmt.Errorf("%s exited before it was ready: %v", p.Name, r.err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %s: %v", p.Name, readyTimeout, err)
		}
	}
}

// Wait returns nil when ctx is done, or an error naming the first process
// that exits on its own.
func (l *Launcher) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case e := <-l.exited:
		if e.err == nil {
			return fmt.Errorf("%s exited", e.name)
		}
		return fmt.Errorf("%s exited: %w", e.name, e.err)
	}
}

// Stop stops every process, the last started first: SIGTERM, and SIGKILL
// for any still running after stopTimeout. It returns once all have exited.
func (l *Launcher) Stop() {
	l.mu.Lock()
	procs := append([]*running(nil), l.running...)
	l.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		r := procs[i]
		select {
		case <-r.done:
			continue
		default:
		}
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(stopTimeout):
			l.out.Line("demo", r.name+" did not stop within "+stopTimeout.String()+"; killing it")
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
			<-r.done
		}
	}
}

// HTTPReady is a readiness check: GET url answers 200.
func HTTPReady(url string) func() error {
	client := &http.Client{Timeout: time.Second}
	return func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// CheckPorts fails with one message naming every port already in use.
func CheckPorts(host string, ports map[string]int) error {
	var errs []error
	seen := map[int]string{}
	for name, port := range ports {
		if other, ok := seen[port]; ok {
			errs = append(errs, fmt.Errorf("port %d is given to both %s and %s", port, other, name))
			continue
		}
		seen[port] = name
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			errs = append(errs, fmt.Errorf("port %d for %s is in use (choose another with -%s-port)", port, name, name))
			continue
		}
		ln.Close()
	}
	return errors.Join(errs...)
}

// Output writes lines from several processes without interleaving them
// mid-line, each prefixed with its process's name.
type Output struct {
	mu    sync.Mutex
	w     io.Writer
	width int
}

// NewOutput writes to w, padding names to width.
func NewOutput(w io.Writer, width int) *Output { return &Output{w: w, width: width} }

// Line writes one line under name.
func (o *Output) Line(name, line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.w, "%-*s | %s\n", o.width, name, strings.TrimRight(line, "\r\n"))
}

// Copy writes every line of r under name until r ends.
func (o *Output) Copy(name string, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		o.Line(name, sc.Text())
	}
}
