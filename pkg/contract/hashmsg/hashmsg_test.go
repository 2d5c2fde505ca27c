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
			if c, err := hashmsg.ClusterOf([]byte(msg)); err != nil || c != m.Cluster() {
				t.Fatalf("ClusterOf(%q) = %q, %v; want %q", msg, c, err, m.Cluster())
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
			if _, err := hashmsg.ClusterOf([]byte(msg)); !errors.Is(err, hashmsg.ErrMalformed) {
				t.Fatalf("ClusterOf(%q) error = %v, want ErrMalformed", msg, err)
			}
		})
	}
}

// FuzzClusterOfAgreesWithParse: the byte form classifies every text as
// Parse does, and allocates nothing for a message.
func FuzzClusterOfAgreesWithParse(f *testing.F) {
	f.Add(hashmsg.Format("bursty-", sha256.Sum256([]byte("x"))))
	f.Add(hashmsg.Format("", sha256.Sum256(nil)))
	f.Add("a\nb")
	f.Fuzz(func(t *testing.T, msg string) {
		m, perr := hashmsg.Parse(msg)
		c, cerr := hashmsg.ClusterOf([]byte(msg))
		if (perr == nil) != (cerr == nil) || (perr == nil && c != m.Cluster()) {
			t.Fatalf("Parse(%q) = %v, %v; ClusterOf = %q, %v", msg, m, perr, c, cerr)
		}
	})
}

func TestClusterOfAllocatesNothing(t *testing.T) {
	msg := []byte(hashmsg.Format("bursty-", sha256.Sum256([]byte("x"))))
	if n := testing.AllocsPerRun(100, func() { _, _ = hashmsg.ClusterOf(msg) }); n != 0 {
		t.Fatalf("ClusterOf allocates %v times", n)
	}
}
