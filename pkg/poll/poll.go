// Package poll waits for a condition by asking again: a process answering
// its readiness check, a value a test waits for. It is the project's one
// polling loop.
package poll

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Until calls check every interval until it returns nil, and then returns
// nil. It gives up when timeout passes or ctx is done, returning an error
// that wraps the last check's error (or ctx's cause when ctx ended first).
func Until(ctx context.Context, timeout, interval time.Duration, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			if cause := context.Cause(ctx); !errors.Is(cause, context.DeadlineExceeded) {
				return cause
			}
			return fmt.Errorf("not within %s: %w", timeout, err)
		case <-t.C:
		}
	}
}

// True adapts a boolean condition to Until: it fails with what while cond
// does not hold.
func True(what string, cond func() bool) func() error {
	return func() error {
		if cond() {
			return nil
		}
		return errors.New(what)
	}
}
