// Package launcher runs the demo's processes (through package process): it
// starts each one, waits until it is ready, prefixes its log lines with its
// name, and stops them all, the last started first, when asked or when one of
// them dies.
package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/cloudburst-demo/cloudburst/pkg/process"
)

// Launcher owns the running processes.
type Launcher struct {
	out    *Output
	exited chan exit

	mu      sync.Mutex
	running []*process.Process
}

type exit struct {
	name string
	err  error
}

// New returns a Launcher writing prefixed output to out.
func New(out *Output) *Launcher {
	return &Launcher{out: out, exited: make(chan exit, 16)}
}

// Start runs p, its output prefixed with its name, and waits until it is
// ready. A process that exits before it is ready is an error.
func (l *Launcher) Start(p process.Spec) error {
	p.Lines = l.out.Line
	proc, err := process.Start(p)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.running = append(l.running, proc)
	l.mu.Unlock()
	go func() {
		<-proc.Done()
		l.exited <- exit{proc.Name(), proc.Err()}
	}()
	return nil
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

// Stop stops every process, the last started first, and returns once all
// have exited. One that does not exit cleanly is named.
func (l *Launcher) Stop() {
	l.mu.Lock()
	procs := append([]*process.Process(nil), l.running...)
	l.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		select {
		case <-p.Done():
			continue // already reported by Wait
		default:
		}
		if err := p.Stop(); err != nil {
			l.out.Line("demo", p.Name()+" did not stop cleanly: "+err.Error())
		}
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
