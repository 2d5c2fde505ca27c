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

// OneOf sets *dst to the name in known that equals s, or returns an error
// listing the known names. Typed names (a strategy, a source, a router) call
// it from their UnmarshalText, which envconfig uses, so an unknown name stops
// a service at start instead of falling back to some default.
func OneOf[T ~string](dst *T, s string, known []T) error {
	for _, k := range known {
		if string(k) == s {
			*dst = k
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %v", s, known)
}
