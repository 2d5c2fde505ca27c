package policy

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

var t0 = time.Unix(1_700_000_000, 0)

func cfg(strategy StrategyName) Config {
	return Config{
		Strategy: strategy, HighRPS: 15, LowRPS: 10, Step: 20, CapacityRPS: 15,
		MinDwell: 5 * time.Second, FailureThreshold: 3, FailSafe: FailSafeHold,
	}
}

func mustNew(t *testing.T, c Config) *Policy {
	t.Helper()
	p, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStrategies(t *testing.T) {
	tests := []struct {
		name     string
		strategy StrategyName
		step     int
		cur      split.Split
		rps      float64
		want     split.Split
		reason   string
	}{
		{"switch: above high", Switch, 0, split.AllPrimary, 15.1, split.AllBurst, "above the high threshold 15"},
		{"switch: at high stays", Switch, 0, split.AllPrimary, 15, split.AllPrimary, "within"},
		{"switch: in band keeps burst", Switch, 0, split.AllBurst, 12, split.AllBurst, "within"},
		{"switch: below low", Switch, 0, split.AllBurst, 9.9, split.AllPrimary, "below the low threshold 10"},
		{"switch: zero load is a value", Switch, 0, split.AllBurst, 0, split.AllPrimary, "below"},
		{"step: up one step", Step, 20, split.AllPrimary, 30, split.WithBurst(20), "above"},
		{"step: capped at 100", Step, 30, split.WithBurst(90), 30, split.AllBurst, "above"},
		{"step: down one step", Step, 20, split.WithBurst(60), 5, split.WithBurst(40), "below"},
		{"step: floored at 0", Step, 30, split.WithBurst(10), 5, split.AllPrimary, "below"},
		{"step: band holds", Step, 20, split.WithBurst(40), 12, split.WithBurst(40), "within"},
		{"spillover: under capacity", Spillover, 10, split.AllPrimary, 14, split.AllPrimary, "0.0% excess"},
		{"spillover: excess goes to burst", Spillover, 10, split.AllPrimary, 25, split.WithBurst(40), "40.0% excess"},
		{"spillover: rounded to the step", Spillover, 10, split.AllPrimary, 50, split.WithBurst(70), "70.0% excess"},
		{"spillover: small change within band", Spillover, 10, split.WithBurst(40), 27, split.WithBurst(40), "44.4% excess"},
		{"spillover: large change moves", Spillover, 10, split.WithBurst(40), 100, split.WithBurst(90), "85.0% excess"},
		{"spillover: load gone", Spillover, 10, split.WithBurst(40), 3, split.AllPrimary, "0.0% excess"},
	}
	live := func(v float64) *float64 { return &v }
	liveTests := []struct {
		name     string
		cur      split.Split
		rps      float64
		capacity *float64
		want     split.Split
		reason   string
	}{
		{"live capacity replaces the configured one", split.AllPrimary, 50, live(30), split.WithBurst(40), "against a live capacity of 30 req/s: 40.0% excess"},
		{"one endpoint fewer", split.WithBurst(40), 50, live(20), split.WithBurst(60), "live capacity of 20 req/s: 60.0% excess"},
		{"no ready worker: all to burst", split.AllPrimary, 5, live(0), split.AllBurst, "100.0% excess"},
		{"no ready worker, no load", split.WithBurst(40), 0, live(0), split.AllPrimary, "0.0% excess"},
		{"not measured: the configured capacity", split.AllPrimary, 25, nil, split.WithBurst(40), "against a capacity of 15 req/s"},
	}
	for _, tt := range liveTests {
		t.Run("spillover: "+tt.name, func(t *testing.T) {
			c := cfg(Spillover)
			c.Step = 10
			_, d := mustNew(t, c).Next(State{Weights: tt.cur}, Observation{At: t0, RPS: tt.rps, CapacityRPS: tt.capacity})
			if d.Weights != tt.want || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("Next = %v (%q), want %v (%q)", d.Weights, d.Reason, tt.want, tt.reason)
			}
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg(tt.strategy)
			if tt.step != 0 {
				c.Step = tt.step
			}
			p := mustNew(t, c)
			st, d := p.Next(State{Weights: tt.cur}, Observation{At: t0, RPS: tt.rps})
			if d.Weights != tt.want || st.Weights != tt.want || d.Changed != (tt.want != tt.cur) {
				t.Fatalf("Next(%v, %v rps) = %v (changed %v), want %v", tt.cur, tt.rps, d.Weights, d.Changed, tt.want)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("reason %q lacks %q", d.Reason, tt.reason)
			}
			if err := d.Weights.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestMinDwell(t *testing.T) {
	p := mustNew(t, cfg(Switch))
	st := State{Weights: split.AllPrimary}
	st, d := p.Next(st, Observation{At: t0, RPS: 30})
	if !d.Changed {
		t.Fatal("first change blocked")
	}
	st, d = p.Next(st, Observation{At: t0.Add(4 * time.Second), RPS: 1})
	if d.Changed || d.Weights != split.AllBurst || !strings.Contains(d.Reason, "minimum dwell") {
		t.Fatalf("change within the dwell: %+v", d)
	}
	if _, d = p.Next(st, Observation{At: t0.Add(5 * time.Second), RPS: 1}); !d.Changed || d.Weights != split.AllPrimary {
		t.Fatalf("change after the dwell: %+v", d)
	}
}

func TestFailures(t *testing.T) {
	errQuery := errors.New("prometheus: connection refused")
	for _, mode := range FailSafes {
		t.Run(string(mode), func(t *testing.T) {
			c := cfg(Switch)
			c.FailSafe = mode
			p := mustNew(t, c)
			st := State{Weights: split.AllBurst, LastChange: t0}
			var failSafes, changes int
			for i := range 10 {
				var d Decision
				st, d = p.Next(st, Observation{At: t0.Add(time.Duration(i) * time.Second), Err: errQuery})
				if d.FailSafe {
					failSafes++
					if i != 2 {
						t.Fatalf("fail-safe entered at failure %d, want the 3rd", i+1)
					}
				}
				if d.Changed {
					changes++
				}
			}
			if failSafes != 1 {
				t.Fatalf("fail-safe announced %d times, want once", failSafes)
			}
			want, wantChanges := split.AllBurst, 0
			if mode == FailSafePrimary {
				want, wantChanges = split.AllPrimary, 1
			}
			if st.Weights != want || changes != wantChanges {
				t.Fatalf("after failures: %v with %d changes, want %v with %d", st.Weights, changes, want, wantChanges)
			}
			// Failure never counts as zero load: the next real value decides.
			st, d := p.Next(st, Observation{At: t0.Add(time.Minute), RPS: 30})
			if st.Failures != 0 || d.Weights != split.AllBurst {
				t.Fatalf("after recovery: %+v %+v", st, d)
			}
		})
	}
}

func TestNoDataIsNeverZero(t *testing.T) {
	p := mustNew(t, cfg(Switch))
	st := State{Weights: split.AllBurst}
	for i := range 2 {
		var d Decision
		st, d = p.Next(st, Observation{At: t0.Add(time.Duration(i) * time.Minute), Err: errors.New("no data")})
		if d.Changed || d.Weights != split.AllBurst {
			t.Fatalf("no data moved the weights: %+v", d)
		}
	}
}

// TestNoFlapping replays long noisy series around the thresholds and counts
// changes: hysteresis and the dwell must keep them few and spaced.
func TestNoFlapping(t *testing.T) {
	tests := []struct {
		name       string
		strategy   StrategyName
		mean, amp  float64 // rps = mean ± amp, uniform noise
		maxChanges int
	}{
		{"switch around HIGH", Switch, 15, 3, 1}, // crosses 15 often, never 10: one switch
		{"switch inside the band", Switch, 12.5, 2.4, 0},
		{"switch around LOW from burst", Switch, 10.5, 1, 1},
		{"step around HIGH", Step, 15, 3, 5}, // may climb, never oscillate
		{"spillover steady excess", Spillover, 25, 2, 1},
		{"spillover around capacity", Spillover, 15.5, 1.5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, cfg(tt.strategy))
			rng := rand.New(rand.NewPCG(1, 2))
			start := split.AllPrimary
			if strings.Contains(tt.name, "from burst") {
				start = split.AllBurst
			}
			st := State{Weights: start}
			var changes []time.Time
			var dirs []int
			for i := range 3600 { // an hour of 1 s observations
				at := t0.Add(time.Duration(i) * time.Second)
				rps := tt.mean + tt.amp*(2*rng.Float64()-1)
				before := st.Weights
				var d Decision
				st, d = p.Next(st, Observation{At: at, RPS: rps})
				if d.Changed {
					changes = append(changes, at)
					if d.Weights.Spilled() > before.Spilled() {
						dirs = append(dirs, 1)
					} else {
						dirs = append(dirs, -1)
					}
				}
			}
			if len(changes) > tt.maxChanges {
				t.Fatalf("%d changes in an hour, want at most %d", len(changes), tt.maxChanges)
			}
			for i := 1; i < len(changes); i++ {
				if changes[i].Sub(changes[i-1]) < 5*time.Second {
					t.Fatalf("changes %s apart, under MIN_DWELL", changes[i].Sub(changes[i-1]))
				}
				if dirs[i] != dirs[0] {
					t.Fatalf("direction reversed: %v", dirs)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   Setting
	}{
		{"unknown strategy", func(c *Config) { c.Strategy = "yolo" }, SettingStrategy},
		{"slo target 1", func(c *Config) { *c = sloCfg(); c.SLOTarget = 1 }, SettingSLOTarget},
		{"slo target 99", func(c *Config) { *c = sloCfg(); c.SLOTarget = 99 }, SettingSLOTarget},
		{"slo window zero", func(c *Config) { *c = sloCfg(); c.SLOWindow = 0 }, SettingSLOWindow},
		{"slo min requests zero", func(c *Config) { *c = sloCfg(); c.SLOMinRequests = 0 }, SettingSLOMinRequests},
		{"slo negative probe", func(c *Config) { *c = sloCfg(); c.SLOProbe = -time.Second }, SettingSLOProbe},
		{"slo headroom zero", func(c *Config) { *c = sloCfg(); c.SLOHeadroom = 0 }, SettingSLOHeadroom},
		{"low above high", func(c *Config) { c.LowRPS = 20 }, SettingLow},
		{"negative low", func(c *Config) { c.LowRPS = -1 }, SettingLow},
		{"step zero", func(c *Config) { c.Strategy = Step; c.Step = 0 }, SettingStep},
		{"capacity zero", func(c *Config) { c.Strategy = Spillover; c.CapacityRPS = 0 }, SettingCapacity},
		{"threshold zero", func(c *Config) { c.FailureThreshold = 0 }, SettingFailureThreshold},
		{"bad fail-safe", func(c *Config) { c.FailSafe = "panic" }, SettingFailSafe},
		{"negative dwell", func(c *Config) { c.MinDwell = -time.Second }, SettingMinDwell},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg(Switch)
			tt.mutate(&c)
			_, err := New(c)
			var se *SettingError
			if !errors.As(err, &se) || se.Setting != tt.want || !strings.HasPrefix(err.Error(), string(tt.want)+": ") {
				t.Fatalf("New = %v, want an error about the %s", err, tt.want)
			}
		})
	}
	for _, s := range Strategies {
		c := cfg(s)
		if s == SLO {
			c = sloCfg()
		}
		if _, err := New(c); err != nil {
			t.Errorf("valid %s config rejected: %v", s, err)
		}
	}
}

func TestNamesDecode(t *testing.T) {
	tests := []struct {
		text string
		dst  interface{ UnmarshalText([]byte) error }
		ok   bool
	}{
		{"switch", new(StrategyName), true},
		{"spillover", new(StrategyName), true},
		{"Switch", new(StrategyName), false},
		{"yolo", new(StrategyName), false},
		{"", new(StrategyName), false},
		{"hold", new(FailSafe), true},
		{"primary", new(FailSafe), true},
		{"panic", new(FailSafe), false},
	}
	for _, tt := range tests {
		err := tt.dst.UnmarshalText([]byte(tt.text))
		if (err == nil) != tt.ok {
			t.Errorf("UnmarshalText(%q) into %T = %v", tt.text, tt.dst, err)
		}
	}
}

// TestBurstNotReady: with the burst cluster's readiness known, no weight
// goes to a burst cluster without a ready worker, and one that loses them
// while carrying traffic gets none at once, whatever the dwell.
func TestBurstNotReady(t *testing.T) {
	yes, no := true, false
	p := mustNew(t, cfg(Switch))
	st := State{Weights: split.AllPrimary}
	st, d := p.Next(st, Observation{At: t0, RPS: 30, Away: []Away{{Ready: &no}}})
	if d.Changed || !d.BurstNotReady() || st.Weights != split.AllPrimary || !strings.Contains(d.Reason, "no ready worker: holding") {
		t.Fatalf("not ready: %+v", d)
	}
	st, d = p.Next(st, Observation{At: t0.Add(time.Second), RPS: 30, Away: []Away{{Ready: &yes}}})
	if !d.Changed || d.BurstNotReady() || st.Weights != split.AllBurst {
		t.Fatalf("ready again: %+v", d)
	}
	// One second later, well within MIN_DWELL (5s): burst loses its workers.
	st, d = p.Next(st, Observation{At: t0.Add(2 * time.Second), RPS: 30, Away: []Away{{Ready: &no}}})
	if !d.Changed || !d.BurstNotReady() || st.Weights != split.AllPrimary || !strings.Contains(d.Reason, "all back to primary") {
		t.Fatalf("lost while bursting: %+v", d)
	}
	// Low load wants primary anyway: nothing to hold.
	_, d = p.Next(st, Observation{At: t0.Add(3 * time.Second), RPS: 2, Away: []Away{{Ready: &no}}})
	if d.BurstNotReady() || d.Changed {
		t.Fatalf("low load, burst not ready: %+v", d)
	}
	// Unknown readiness gates nothing.
	_, d = p.Next(State{Weights: split.AllPrimary}, Observation{At: t0, RPS: 30})
	if !d.Changed || d.Weights != split.AllBurst {
		t.Fatalf("readiness unknown: %+v", d)
	}
}

// TestBurstWarming: while burst's workers scale up, a move off all-primary
// waits; a burst already under way goes on.
func TestBurstWarming(t *testing.T) {
	p := mustNew(t, cfg(Step))
	warming := "the burst cluster is scaling up (1 of 3 workers ready)"
	st, d := p.Next(State{Weights: split.AllPrimary}, Observation{At: t0, RPS: 30, Away: []Away{{Warming: warming}}})
	if d.Changed || st.Weights != split.AllPrimary || !strings.Contains(d.Reason, warming+": holding") {
		t.Fatalf("warming from all primary: %+v", d)
	}
	st, d = p.Next(State{Weights: split.WithBurst(20)}, Observation{At: t0, RPS: 30, Away: []Away{{Warming: warming}}})
	if !d.Changed || st.Weights != split.WithBurst(40) {
		t.Fatalf("warming while bursting: %+v", d)
	}
}
