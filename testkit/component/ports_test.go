package component

import (
	"errors"
	"strings"
	"testing"
)

func TestListenAddr(t *testing.T) {
	lines := []string{
		`{"level":"INFO","msg":"starting","addr":"127.0.0.1:0"}`,
		`not json`,
		`{"level":"INFO","msg":"listening","service":"worker","addr":"127.0.0.1:41234"}`,
	}
	if got, err := ListenAddr(lines); err != nil || got != "127.0.0.1:41234" {
		t.Fatalf("ListenAddr = %q, %v", got, err)
	}
	if _, err := ListenAddr(lines[:2]); err == nil {
		t.Fatal("found an address before the listening line")
	}
}

func TestRetryPortTaken(t *testing.T) {
	taken := errors.New("exited before it was ready: exit status 1")
	tests := []struct {
		name    string
		outputs []string // what each start prints; "" succeeds
		calls   int
		fails   bool
	}{
		{"first time", []string{""}, 1, false},
		{"taken once", []string{"listen tcp 127.0.0.1:5000: bind: address already in use", ""}, 2, false},
		{"redis wording", []string{"Could not create server TCP listening socket *:6379: bind: Address already in use", ""}, 2, false},
		{"always taken", []string{"address already in use", "address already in use", "address already in use", ""}, PortAttempts, true},
		{"another failure", []string{"config file is broken", ""}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := RetryPortTaken(t, "starting it", func() (string, error) {
				out := tt.outputs[calls]
				calls++
				if out == "" {
					return "", nil
				}
				return out, taken
			})
			if calls != tt.calls || (err != nil) != tt.fails {
				t.Fatalf("%d calls, err %v; want %d calls, failure %v", calls, err, tt.calls, tt.fails)
			}
			if err != nil && !strings.Contains(err.Error(), "starting it") {
				t.Fatalf("error %q does not say what failed", err)
			}
		})
	}
}
