// Package envconf loads a service's configuration from the environment:
// envconfig fills the struct from its tags and defaults, then the struct's
// own Validate checks it, so a service never starts on a bad setting.
package envconf

import (
	"fmt"

	"github.com/kelseyhightower/envconfig"
)

// Validatable is a configuration struct whose pointer can check (and, where
// a default depends on other settings, complete) itself.
type Validatable[C any] interface {
	*C
	Validate() error
}

// Load reads C from the environment and validates it. Errors name the
// variable at fault.
func Load[C any, P Validatable[C]]() (C, error) {
	var c C
	if err := envconfig.Process("", &c); err != nil {
		return c, fmt.Errorf("reading configuration: %w", err)
	}
	if err := P(&c).Validate(); err != nil {
		return c, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
}
