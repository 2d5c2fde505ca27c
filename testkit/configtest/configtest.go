// Package configtest runs table tests of a service's environment
// configuration through the service's own loading function, so the tests
// cover exactly what the binary does at start.
package configtest

import (
	"strings"
	"testing"
)

// Case is one environment and what loading it must give.
type Case[C any] struct {
	Name    string
	Env     map[string]string // set for the case; everything else unset
	WantErr string            // a part of the error; empty: must load
	Check   func(t *testing.T, c C)
}

// Run loads the configuration for every case with load.
func Run[C any](t *testing.T, load func() (C, error), cases []Case[C]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			for k, v := range tc.Env {
				t.Setenv(k, v)
			}
			c, err := load()
			if tc.WantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.WantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.WantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.Check != nil {
				tc.Check(t, c)
			}
		})
	}
}
