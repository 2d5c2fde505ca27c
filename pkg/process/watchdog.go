package process

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// orphanPolicy says how a child is killed when its parent dies.
type orphanPolicy int

const (
	// orphansKernel: the kernel's parent-death signal where there is one
	// (Linux), else a watchdog.
	orphansKernel orphanPolicy = iota
	// orphansWatchdog: a watchdog on every platform, so its path is
	// exercised on Linux too (the package's tests set it).
	orphansWatchdog
)

// orphans is this process's policy; only tests change it, before any Start.
var orphans = orphansKernel

// watchdogScript waits on its standard input, a pipe whose only writer is
// the parent. A line means the child exited and was reaped: nothing to do.
// End of file without one means the parent died, whatever killed it (the
// kernel closes a dead process's files): the watchdog kills the child's
// whole process group ($1 is its leader's pid). It ignores the signals a
// terminal or a stop sends, so it outlives the parent it watches.
const watchdogScript = `trap '' INT TERM HUP QUIT
if read -r _; then exit 0; fi
kill -s KILL -- "-$1" 2>/dev/null
exit 0`

// watchdog is the parent's end of a child's watchdog.
type watchdog struct {
	pipe *os.File
	cmd  *exec.Cmd
}

// startWatchdog starts a watchdog for the process group led by pgid. It
// runs /bin/sh, present on every Unix, in a process group of its own so a
// Ctrl-C meant for the parent does not reach it.
func startWatchdog(pgid int) (*watchdog, error) {
	r, w, err := os.Pipe() // close-on-exec: no other child inherits the writer
	if err != nil {
		return nil, fmt.Errorf("creating the watchdog's pipe: %w", err)
	}
	defer r.Close()
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "watchdog", strconv.Itoa(pgid))
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("starting the watchdog: %w", err)
	}
	return &watchdog{pipe: w, cmd: cmd}, nil
}

// release tells the watchdog that the child has exited and been reaped, so
// it exits without killing (the group's id may since belong to another
// process), and reaps it. A nil watchdog (the kernel watches) does nothing.
func (d *watchdog) release() {
	if d == nil {
		return
	}
	_, _ = d.pipe.WriteString("exited\n")
	d.pipe.Close()
	_ = d.cmd.Wait()
}
