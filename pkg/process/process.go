// Package process runs a program as a named child process: it starts it,
// waits until it is ready, hands every output line to the caller under the
// child's name, and stops it with a signal (SIGTERM by default), then SIGKILL
// if it has not exited in time. The demo's launcher and every test harness
// that runs a real program (redis-server, Prometheus, a registry, the
// services' binaries) use it, so each has the same start, ready and stop.
//
// A child never outlives the process that started it, even one killed
// outright (SIGKILL, a crash): on Linux the kernel sends the child SIGKILL
// when its parent dies (Pdeathsig, parentdeath_linux.go); on macOS, which
// has no such signal, a watchdog beside each child kills the child's
// process group once the parent is gone (watchdog.go).
package process

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/poll"
)

// Defaults for Spec.
const (
	DefaultReadyTimeout = 30 * time.Second
	DefaultStopTimeout  = 10 * time.Second
	// readyInterval is how often Ready is asked again.
	readyInterval = 50 * time.Millisecond
)

// Spec describes a process to run.
type Spec struct {
	Name string
	Path string
	Args []string
	Dir  string
	Env  map[string]string // added to this process's environment

	// Lines receives every line the process writes to stdout or stderr,
	// one at a time. Nil discards the output.
	Lines func(name, line string)
	// Ready is asked until it returns nil; nil means ready once started.
	Ready func() error

	ReadyTimeout time.Duration  // default DefaultReadyTimeout
	StopSignal   syscall.Signal // default SIGTERM; SIGINT for a program that expects Ctrl-C
	StopTimeout  time.Duration  // after StopSignal, before SIGKILL; default DefaultStopTimeout
}

// Process is a running child.
type Process struct {
	name   string
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}
	err    error // the exit error; set before done is closed
}

// Start runs spec and returns once it is ready. A process that exits before
// it is ready, or is not ready in time, is stopped and reported as an error.
func Start(spec Spec) (*Process, error) {
	if spec.ReadyTimeout <= 0 {
		spec.ReadyTimeout = DefaultReadyTimeout
	}
	if spec.StopTimeout <= 0 {
		spec.StopTimeout = DefaultStopTimeout
	}
	if spec.StopSignal == 0 {
		spec.StopSignal = syscall.SIGTERM
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, spec.Path, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = os.Environ()
	for k, v := range spec.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// Own process group: a Ctrl-C in the terminal reaches the parent only,
	// which stops its children in order. If the parent is killed outright,
	// the kernel (Linux) or a watchdog (elsewhere) kills the child too, so
	// nothing is left behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	kernelKills := orphans == orphansKernel && killOnParentDeath(cmd.SysProcAttr)
	// Cancelling the context asks the process, and whatever it started in
	// its group, to stop; WaitDelay later exec kills it and closes its output.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, spec.StopSignal) }
	cmd.WaitDelay = spec.StopTimeout
	out := &lineWriter{name: spec.Name, emit: spec.Lines}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("starting %s: %w", spec.Name, err)
	}
	var guard *watchdog
	if !kernelKills {
		var err error
		if guard, err = startWatchdog(cmd.Process.Pid); err != nil {
			_ = cmd.Cancel()
			cancel()
			_ = cmd.Wait()
			return nil, fmt.Errorf("starting %s: %w", spec.Name, err)
		}
	}
	p := &Process{name: spec.Name, cmd: cmd, cancel: cancel, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		guard.release()
		out.flush()
		close(p.done)
	}()
	if spec.Ready == nil {
		return p, nil
	}
	rctx, stopWaiting := context.WithCancelCause(context.Background())
	defer stopWaiting(nil)
	go func() {
		select {
		case <-p.done:
			stopWaiting(fmt.Errorf("%s exited before it was ready: %v", spec.Name, p.exitErr()))
		case <-rctx.Done():
		}
	}()
	if err := poll.Until(rctx, spec.ReadyTimeout, readyInterval, spec.Ready); err != nil {
		if rctx.Err() == nil { // timed out, rather than exited
			err = fmt.Errorf("%s not ready: %w", spec.Name, err)
		}
		_ = p.Stop()
		return nil, err
	}
	return p, nil
}

// Name is the name the process was started with.
func (p *Process) Name() string { return p.name }

// Pid is the process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited, for whatever reason.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process exited: nil for exit status 0. Call it after Done.
func (p *Process) Err() error {
	<-p.done
	return p.exitErr()
}

// exitErr is the exit error, with a clean exit after a stop request
// reported as the success it is (exec reports it as the context's error).
func (p *Process) exitErr() error {
	if p.cmd.ProcessState != nil && p.cmd.ProcessState.Success() {
		return nil
	}
	if p.cmd.ProcessState != nil {
		return errors.New(p.cmd.ProcessState.String())
	}
	return p.err
}

// Stop sends the stop signal, waits for the process to exit (killing it
// after the stop timeout) and returns how it exited: nil for a clean exit.
// Stopping an exited process only reports how it exited.
func (p *Process) Stop() error {
	p.cancel()
	return p.Err()
}

// HTTPReady is a readiness check for Spec.Ready: GET url answers 200.
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
