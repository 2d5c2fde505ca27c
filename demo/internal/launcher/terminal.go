package launcher

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// TakeTerminal makes the launcher the only process a Ctrl-C in its terminal
// reaches. A terminal sends SIGINT to its whole foreground process group,
// which holds the command that started the launcher (make) as well; make,
// interrupted, reports a failure however cleanly the launcher stopped. So when
// standard input is a terminal whose foreground group is the launcher's, the
// launcher moves into a process group of its own and gives the terminal to
// it, the way a shell hands the terminal to a job. Its children already have
// groups of their own. restore gives the terminal back to the group it came
// from; call it before exiting. Elsewhere (no terminal, started in the
// background) TakeTerminal does nothing.
func TakeTerminal() (restore func(), err error) {
	noop := func() {}
	fd := int(os.Stdin.Fd())
	fg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil || fg != unix.Getpgrp() {
		return noop, nil // not a terminal, or not in its foreground
	}
	// Already leading its group (started by a shell with job control, or as a
	// session leader, which may not change group): the group is its own.
	if unix.Getpgrp() != os.Getpid() {
		if err := unix.Setpgid(0, 0); err != nil {
			return noop, fmt.Errorf("moving into a process group of its own: %w", err)
		}
	}
	// A process outside the foreground group that sets the foreground group
	// is stopped by SIGTTOU unless it ignores it; the same holds for giving
	// the terminal back.
	signal.Ignore(syscall.SIGTTOU)
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, unix.Getpgrp()); err != nil {
		return noop, fmt.Errorf("taking the terminal: %w", err)
	}
	return func() { _ = unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, fg) }, nil
}
