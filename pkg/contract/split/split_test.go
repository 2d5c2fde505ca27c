package split

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		s  Split
		ok bool
	}{
		{AllPrimary, true}, {AllBurst, true}, {WithBurst(40), true},
		{Split{Primary: 50, Burst: 49}, false}, {Split{Primary: 101, Burst: -1}, false},
		{Split{Primary: -10, Burst: 110}, false}, {Split{}, false},
	}
	for _, tt := range tests {
		err := tt.s.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%v.Validate() = %v", tt.s, err)
		}
	}
	if got := WithBurst(40).String(); got != "primary 60 / burst 40" {
		t.Errorf("String() = %q", got)
	}
}

// TestJSON pins the wire shape every process reads and writes.
func TestJSON(t *testing.T) {
	b, err := json.Marshal(WithBurst(40))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"primary":60,"burst":40}`; got != want {
		t.Fatalf("JSON = %s, want %s", got, want)
	}
	var s Split
	if err := json.Unmarshal([]byte(`{"primary":0,"burst":100}`), &s); err != nil || s != AllBurst {
		t.Fatalf("decoded %+v, %v", s, err)
	}
}
