package split

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	three := Of(Share{"primary", 50}, Share{"burst", 30}, Share{"burst-2", 20})
	tests := []struct {
		name string
		s    Split
		ok   bool
	}{
		{"all primary", AllPrimary, true},
		{"all burst", AllBurst, true},
		{"40 to burst", WithBurst(40), true},
		{"three destinations", three, true},
		{"all to the last of three", three.WithWeights(0, 0, 100), true},
		{"sum 99", WithBurst(40).WithWeights(50, 49), false},
		{"above 100", WithBurst(40).WithWeights(101, -1), false},
		{"negative", WithBurst(40).WithWeights(-10, 110), false},
		{"three summing to 90", three.WithWeights(30, 30, 30), false},
		{"zero value", Split{}, false},
		{"one destination", Of(Share{"primary", 100}), false},
		{"unnamed", Of(Share{"primary", 50}, Share{"", 50}), false},
		{"named twice", Of(Share{"primary", 50}, Share{"primary", 50}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Errorf("%v.Validate() = %v", tt.s, err)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	s := Of(Share{"primary", 50}, Share{"burst", 30}, Share{"burst-2", 20})
	if got := s.String(); got != "primary 50 / burst 30 / burst-2 20" {
		t.Errorf("String() = %q", got)
	}
	if got := WithBurst(40).String(); got != "primary 60 / burst 40" {
		t.Errorf("String() = %q", got)
	}
	if s.Len() != 3 || s.Spilled() != 50 || s.Weight(2) != 20 || s.Weight(3) != 0 || s.Name(2) != "burst-2" || s.Index("burst") != 1 || s.Index("x") != -1 {
		t.Errorf("accessors of %v: len %d spilled %d weight(2) %d name(2) %q", s, s.Len(), s.Spilled(), s.Weight(2), s.Name(2))
	}
	if h := Home("primary", "burst", "burst-2"); h != s.WithWeights(100) {
		t.Errorf("Home = %v, want %v", h, s.WithWeights(100))
	}
	if !s.SameDestinations(Home("primary", "burst", "burst-2")) || s.SameDestinations(AllPrimary) {
		t.Error("SameDestinations is wrong")
	}
	// Shares and Weights are copies: changing them leaves s alone.
	s.Shares()[0].Weight = 7
	s.Weights()[0] = 7
	if s.Weight(0) != 50 {
		t.Errorf("a copy changed the split: %v", s)
	}
}

// TestJSON pins the wire shape every process reads and writes: one object
// whose keys are the destinations in spill order.
func TestJSON(t *testing.T) {
	tests := []struct {
		s    Split
		json string
	}{
		{WithBurst(40), `{"primary":60,"burst":40}`},
		{Of(Share{"primary", 50}, Share{"burst", 30}, Share{"burst-2", 20}), `{"primary":50,"burst":30,"burst-2":20}`},
		// The order is the spill order, not the keys' order.
		{Of(Share{"zeta", 100}, Share{"alpha", 0}), `{"zeta":100,"alpha":0}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.s)
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.s, b, err, tt.json)
		}
		var got Split
		if err := json.Unmarshal([]byte(tt.json), &got); err != nil || got != tt.s {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", tt.json, got, err, tt.s)
		}
	}
	for _, bad := range []string{
		`[60,40]`, `{"primary":60.5,"burst":39.5}`, `{"primary":"60"}`,
		`{"primary":50,"primary":50}`,
		`{"a":0,"b":0,"c":0,"d":0,"e":0,"f":0,"g":0,"h":0,"i":100}`,
	} {
		var got Split
		if err := json.Unmarshal([]byte(bad), &got); !errors.Is(err, ErrInvalid) {
			t.Errorf("Unmarshal(%s) = %v, %v; want ErrInvalid", bad, got, err)
		}
	}
}
