package envconf_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
)

type cfg struct {
	Port  int    `envconfig:"PORT" default:"8080"`
	Name  string `envconfig:"NAME"`
	Label string `envconfig:"LABEL"`
}

func (c *cfg) Validate() error {
	if c.Port > 65535 {
		return errors.New("PORT is not a TCP port")
	}
	if c.Label == "" {
		c.Label = "derived-" + c.Name
	}
	return nil
}

func TestLoad(t *testing.T) {
	t.Setenv("NAME", "x")
	c, err := envconf.Load[cfg]()
	if err != nil || c.Port != 8080 || c.Label != "derived-x" {
		t.Fatalf("Load = %+v, %v", c, err)
	}
	t.Setenv("PORT", "nope")
	if _, err := envconf.Load[cfg](); err == nil || !strings.Contains(err.Error(), "reading configuration") {
		t.Fatalf("bad number: %v", err)
	}
	t.Setenv("PORT", "70000")
	if _, err := envconf.Load[cfg](); err == nil || !strings.Contains(err.Error(), "invalid configuration: PORT") {
		t.Fatalf("invalid: %v", err)
	}
}

type color string

const (
	red  color = "red"
	blue color = "blue"
)

func (c *color) UnmarshalText(b []byte) error { return envconf.OneOf(c, string(b), []color{red, blue}) }

type named struct {
	Color color `envconfig:"COLOR" default:"red"`
}

func (*named) Validate() error { return nil }

func TestOneOf(t *testing.T) {
	tests := []struct {
		env, want, wantErr string
	}{
		{"", "red", ""},
		{"blue", "blue", ""},
		{"Blue", "", `COLOR`},
		{"green", "", `"green" is not one of [red blue]`},
	}
	for _, tt := range tests {
		t.Run("COLOR="+tt.env, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("COLOR", tt.env)
			}
			c, err := envconf.Load[named]()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load = %+v, %v; want an error with %q", c, err, tt.wantErr)
				}
				return
			}
			if err != nil || string(c.Color) != tt.want {
				t.Fatalf("Load = %+v, %v; want %s", c, err, tt.want)
			}
		})
	}
}
