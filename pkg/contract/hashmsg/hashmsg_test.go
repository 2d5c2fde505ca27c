package hashmsg_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
)

func TestFormatParseRoundTrip(t *testing.T) {
	sum := sha256.Sum256([]byte("hello"))
	for _, prefix := range []string{"", "bursty-", "eu-west/"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			msg := hashmsg.Format(prefix, sum)
			if got, want := len(msg), len(prefix)+hashmsg.HashLen; got != want {
				t.Fatalf("len(Format) = %d, want %d", got, want)
			}
			m, err := hashmsg.Parse(msg)
			if err != nil {
				t.Fatalf("Parse(%q): %v", msg, err)
			}
			if m.Prefix != prefix || m.Hash != base64.StdEncoding.EncodeToString(sum[:]) || m.Prefix+m.Hash != msg {
				t.Fatalf("Parse(%q) = %+v", msg, m)
			}
			if m.Burst() != (prefix != "") || (m.Cluster() == hashmsg.Burst) != (prefix != "") {
				t.Fatalf("Burst() = %v, Cluster() = %q for prefix %q", m.Burst(), m.Cluster(), prefix)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := map[string]string{
		"empty":       "",
		"too short":   "abc",
		"not base64":  "bursty-" + "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
		"33-byte sum": "bursty-" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"line break":  "a\nb" + hashmsg.Format("", sha256.Sum256(nil)),
	}
	for name, msg := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := hashmsg.Parse(msg); !errors.Is(err, hashmsg.ErrMalformed) {
				t.Fatalf("Parse(%q) error = %v, want ErrMalformed", msg, err)
			}
		})
	}
}
