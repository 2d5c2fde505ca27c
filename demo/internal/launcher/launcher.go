// Package launcher runs the demo's processes (through package process): it
// starts each one, waits until it is ready, prefixes its log lines with its
// name, restarts one that dies (saying so loudly) while the others keep
// running, and stops them all, the last started first, when asked.
package launcher

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/process"
)

// Restart delays: a process that dies is started again after the launcher's
// delay, doubled each time it dies again within stableAfter of its start,
// up to maxRestartDelay, so a crashing process costs one line per attempt.
const (
	stableAfter     = time.Minute
	maxRestartDelay = 2 * time.Minute
)

// Launcher owns the running processes.
type Launcher struct {
	out          *Output
	restartAfter time.Duration // 0: a process that dies stays down
	stop         chan struct{} // closed by Stop
	stopOnce     sync.Once
	supervisors  sync.WaitGroup

	mu      sync.Mutex
	running []*process.Process // in start order; a restarted one in its place
}

// New returns a Launcher writing prefixed output to out. A process that
// dies is started again after restartAfter; zero leaves it down.
func New(out *Output, restartAfter time.Duration) *Launcher {
	return &Launcher{out: out, restartAfter: restartAfter, stop: make(chan struct{})}
}

// Start runs p, its output prefixed with its name, and waits until it is
// ready. A process that exits before it is ready is an error. Once started,
// the process is watched: see New.
func (l *Launcher) Start(p process.Spec) error {
	p.Lines = l.out.Line
	proc, err := process.Start(p)
	if err != nil {
		return err
	}
	l.out.Line("demo", fmt.Sprintf("%s is up (pid %d)", p.Name, proc.Pid()))
	l.mu.Lock()
	i := len(l.running)
	l.running = append(l.running, proc)
	l.mu.Unlock()
	l.supervisors.Add(1)
	go l.supervise(i, p, proc)
	return nil
}

// supervise waits for the process in slot i to die and starts it again,
// until Stop.
func (l *Launcher) supervise(i int, spec process.Spec, proc *process.Process) {
	defer l.supervisors.Done()
	delay := l.restartAfter
	for {
		started := time.Now()
		select {
		case <-l.stop:
			return
		case <-proc.Done():
		}
		if l.stopping() {
			return
		}
		why := "exited"
		if err := proc.Err(); err != nil {
			why += " (" + err.Error() + ")"
		}
		if l.restartAfter <= 0 {
			l.out.Line("demo", fmt.Sprintf("!!! %s %s; the rest keeps running without it. "+
				"Restarting is off (-restart-after=0): press Ctrl-C and run make demo again to bring it back.", spec.Name, why))
			return
		}
		if time.Since(started) >= stableAfter {
			delay = l.restartAfter
		}
		l.out.Line("demo", fmt.Sprintf("!!! %s %s; the rest keeps running; restarting it in %s", spec.Name, why, delay))
		for {
			select {
			case <-l.stop:
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, maxRestartDelay)
			next, err := process.Start(spec)
			if err == nil {
				proc = next
				break
			}
			l.out.Line("demo", fmt.Sprintf("!!! restarting %s failed: %v; trying again in %s", spec.Name, err, delay))
		}
		l.mu.Lock()
		l.running[i] = proc
		l.mu.Unlock()
		if l.stopping() { // Stop began while it was starting: Stop stops it
			return
		}
		l.out.Line("demo", fmt.Sprintf("%s restarted (pid %d)", spec.Name, proc.Pid()))
	}
}

func (l *Launcher) stopping() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// Stop stops every process, the last started first, and returns once all
// have exited. One that does not exit cleanly is named.
func (l *Launcher) Stop() {
	l.stopOnce.Do(func() { close(l.stop) })
	l.supervisors.Wait() // no restart after this
	l.mu.Lock()
	procs := append([]*process.Process(nil), l.running...)
	l.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		select {
		case <-p.Done():
			continue // died on its own, already reported
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
