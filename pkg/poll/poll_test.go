package poll_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/poll"
)

func TestUntil(t *testing.T) {
	errNotYet := errors.New("not yet")
	stopped := errors.New("process exited")
	tests := []struct {
		name    string
		okAfter int // calls before check succeeds; -1 never
		cancel  error
		want    string
	}{
		{"at once", 0, nil, ""},
		{"after a few", 3, nil, ""},
		{"never", -1, nil, "not within 50ms: not yet"},
		{"cancelled with a cause", -1, stopped, "process exited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			calls := 0
			err := poll.Until(ctx, 50*time.Millisecond, time.Millisecond, func() error {
				calls++
				if tt.cancel != nil && calls == 2 {
					cancel(tt.cancel)
				}
				if tt.okAfter >= 0 && calls > tt.okAfter {
					return nil
				}
				return errNotYet
			})
			if tt.want == "" {
				if err != nil || calls != tt.okAfter+1 {
					t.Fatalf("Until = %v after %d calls, want nil after %d", err, calls, tt.okAfter+1)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Until = %v, want %q", err, tt.want)
			}
			if tt.cancel == nil && !errors.Is(err, errNotYet) {
				t.Fatalf("Until = %v does not wrap the last check's error", err)
			}
		})
	}
}

func TestTrue(t *testing.T) {
	if err := poll.True("ready", func() bool { return true })(); err != nil {
		t.Fatal(err)
	}
	if err := poll.True("ready", func() bool { return false })(); err == nil || err.Error() != "ready" {
		t.Fatalf("True = %v", err)
	}
}
