package policy

import (
	"errors"
	"fmt"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
)

// StrategyName names a strategy. It decodes from text (an environment
// variable) and refuses any name it does not know, so a misspelt strategy
// stops the burster at start instead of becoming another one.
type StrategyName string

// The strategies.
const (
	Switch    StrategyName = "switch"    // all to burst above the high threshold, all back below the low one
	Step      StrategyName = "step"      // the burst share moves by a step at a time
	Spillover StrategyName = "spillover" // primary keeps its capacity, the excess goes to burst
	SLO       StrategyName = "slo"       // primary is held at its latency objective, the excess goes to burst
)

// Strategies lists every strategy, for help texts and errors.
var Strategies = []StrategyName{Switch, Step, Spillover, SLO}

// UnmarshalText accepts only the names in Strategies.
func (n *StrategyName) UnmarshalText(b []byte) error {
	return envconf.OneOf(n, string(b), Strategies)
}

// FailSafe is what the policy does once measurements keep failing.
type FailSafe string

// The fail-safe modes.
const (
	FailSafeHold    FailSafe = "hold"    // keep the current weights
	FailSafePrimary FailSafe = "primary" // send everything back to primary
)

// FailSafes lists every fail-safe mode.
var FailSafes = []FailSafe{FailSafeHold, FailSafePrimary}

// UnmarshalText accepts only the modes in FailSafes.
func (f *FailSafe) UnmarshalText(b []byte) error {
	return envconf.OneOf(f, string(b), FailSafes)
}

// Setting names one field of Config in errors, so that the caller can say
// where the value came from (the burster's configuration names the
// environment variable).
type Setting string

// The settings of Config, as errors name them.
const (
	SettingStrategy         Setting = "strategy"
	SettingHigh             Setting = "high threshold"
	SettingLow              Setting = "low threshold"
	SettingStep             Setting = "step"
	SettingCapacity         Setting = "capacity"
	SettingMinDwell         Setting = "minimum dwell"
	SettingFailureThreshold Setting = "failure threshold"
	SettingFailSafe         Setting = "fail-safe"
	SettingSLOTarget        Setting = "SLO target"
	SettingSLOWindow        Setting = "SLO window"
	SettingSLOMinRequests   Setting = "SLO minimum requests"
	SettingSLOProbe         Setting = "SLO probe interval"
	SettingSLOHeadroom      Setting = "SLO headroom"
)

// SettingError is a problem with one setting.
type SettingError struct {
	Setting Setting
	Problem string
}

func (e *SettingError) Error() string { return string(e.Setting) + ": " + e.Problem }

func invalid(s Setting, format string, args ...any) error {
	return &SettingError{Setting: s, Problem: fmt.Sprintf(format, args...)}
}

// Config configures a Policy.
type Config struct {
	Strategy         StrategyName
	HighRPS, LowRPS  float64       // switch and step: the hysteresis band
	Step             int           // step: percent per change; spillover: rounding
	CapacityRPS      float64       // spillover: what primary keeps
	MinDwell         time.Duration // least time between two changes
	FailureThreshold int           // consecutive failures before the fail-safe
	FailSafe         FailSafe

	// slo: the objective is that a share SLOTarget of primary's requests
	// are good (answered, not 5xx, within SLOLatency), judged over
	// SLOWindow from at least SLOMinRequests requests.
	SLOLatency     time.Duration // for reasons: the source counts against it
	SLOTarget      float64
	SLOWindow      time.Duration
	SLOMinRequests float64
	// SLOProbe is how long primary must go without a breach before the
	// strategy tries one step more on it than it was seen to carry
	// (learning a capacity that grew); 0: never.
	SLOProbe time.Duration
	// SLOHeadroom is the share of primary's learned capacity left unused
	// when the strategy sizes its load, and the most a probe offers it
	// beyond what it carries.
	SLOHeadroom float64
}

// maxHeadroom bounds SLOHeadroom: beyond half, primary would idle more than
// it serves.
const maxHeadroom = 0.5

// Validate reports every problem, each as a *SettingError.
func (c Config) Validate() error {
	var errs []error
	switch c.Strategy {
	case Switch, Step, Spillover, SLO:
	default:
		errs = append(errs, invalid(SettingStrategy, "%q is not one of %v", c.Strategy, Strategies))
	}
	if c.Strategy != Spillover && c.Strategy != SLO && !(c.LowRPS >= 0 && c.LowRPS < c.HighRPS) {
		errs = append(errs, invalid(SettingLow, "must be 0 or more and below the high threshold (%v), got %v", c.HighRPS, c.LowRPS))
	}
	if (c.Strategy == Step || c.Strategy == Spillover) && (c.Step < 1 || c.Step > 100) {
		errs = append(errs, invalid(SettingStep, "must be 1 to 100 percent, got %d", c.Step))
	}
	if c.Strategy == Spillover && !(c.CapacityRPS > 0) {
		errs = append(errs, invalid(SettingCapacity, "must be positive for spillover, got %v", c.CapacityRPS))
	}
	if c.Strategy == SLO {
		errs = append(errs, c.validateSLO()...)
	}
	if c.MinDwell < 0 {
		errs = append(errs, invalid(SettingMinDwell, "must not be negative, got %s", c.MinDwell))
	}
	if c.FailureThreshold < 1 {
		errs = append(errs, invalid(SettingFailureThreshold, "must be at least 1, got %d", c.FailureThreshold))
	}
	if c.FailSafe != FailSafeHold && c.FailSafe != FailSafePrimary {
		errs = append(errs, invalid(SettingFailSafe, "%q is not one of %v", c.FailSafe, FailSafes))
	}
	return errors.Join(errs...)
}

func (c Config) validateSLO() []error {
	var errs []error
	if !(c.SLOTarget > 0 && c.SLOTarget < 1) {
		errs = append(errs, invalid(SettingSLOTarget, "must be above 0 and below 1 (0.99 is 99%%), got %v", c.SLOTarget))
	}
	if c.SLOWindow <= 0 {
		errs = append(errs, invalid(SettingSLOWindow, "must be positive, got %s", c.SLOWindow))
	}
	if !(c.SLOMinRequests >= 1) {
		errs = append(errs, invalid(SettingSLOMinRequests, "must be at least 1, got %v", c.SLOMinRequests))
	}
	if c.SLOProbe < 0 {
		errs = append(errs, invalid(SettingSLOProbe, "must not be negative (0: never probe), got %s", c.SLOProbe))
	}
	if c.Strategy == SLO && !(c.SLOHeadroom > 0 && c.SLOHeadroom <= maxHeadroom) {
		errs = append(errs, invalid(SettingSLOHeadroom, "must be above 0 and at most %g (0.05 is 5%%), got %v", maxHeadroom, c.SLOHeadroom))
	}
	return errs
}
