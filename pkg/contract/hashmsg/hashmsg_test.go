package hashmsg_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
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

// TestClusters: the prefix table tells each cluster by its workers' PREFIX,
// with no prefix primary's and a prefix it does not name burst's; a bad
// table is refused, naming what is wrong.
func TestClusters(t *testing.T) {
	table, err := hashmsg.ParseClusters(" burst=bursty-, burst-2=bursty2-")
	if err != nil {
		t.Fatal(err)
	}
	if got := table.Names(); !slices.Equal(got, []hashmsg.Cluster{"primary", "burst", "burst-2"}) {
		t.Fatalf("Names = %v", got)
	}
	var sum [sha256.Size]byte
	for _, tt := range []struct {
		prefix string
		want   hashmsg.Cluster
	}{
		{"", hashmsg.Primary}, {"bursty-", hashmsg.Burst}, {"bursty2-", "burst-2"}, {"bursty3-", hashmsg.Burst}, {"bursty2", hashmsg.Burst},
	} {
		msg := hashmsg.Format(tt.prefix, sum)
		if c, err := table.ClusterOf([]byte(msg)); err != nil || c != tt.want {
			t.Errorf("ClusterOf(%q) = %q, %v; want %q", msg, c, err, tt.want)
		}
		if c := table.Of(tt.prefix); c != tt.want {
			t.Errorf("Of(%q) = %q, want %q", tt.prefix, c, tt.want)
		}
		if c, err := hashmsg.ClusterOf([]byte(msg)); err != nil || (c != hashmsg.Primary) != (tt.prefix != "") || (c != hashmsg.Primary && c != hashmsg.Burst) {
			t.Errorf("DefaultClusters: ClusterOf(%q) = %q, %v", msg, c, err)
		}
	}
	msg := []byte(hashmsg.Format("bursty2-", sum))
	if n := testing.AllocsPerRun(100, func() { _, _ = table.ClusterOf(msg) }); n != 0 {
		t.Fatalf("ClusterOf with a table allocates %v times", n)
	}
	if !table.Knows("burst-2") || !table.Knows(hashmsg.Primary) || table.Knows("burst-3") || hashmsg.DefaultClusters.Knows("burst-2") {
		t.Fatal("Knows: the table's clusters, and no other")
	}
	if d, err := hashmsg.ParseClusters(""); err != nil || !slices.Equal(d.Names(), []hashmsg.Cluster{"primary", "burst"}) {
		t.Fatalf("empty table: %v, %v", d.Names(), err)
	}
	for _, bad := range []struct{ table, want string }{
		{"burst-2=bursty2-", `the first is burst's, not "burst-2"`},
		{"burst", `"burst" is not NAME=PREFIX`},
		{"burst=bursty-,burst=again-", `"burst" is not a new cluster name`},
		{"burst=bursty-,primary=p-", `"primary" is not a new cluster name`},
		{"burst=bursty-,Burst_2=b-", `"Burst_2" is not a new cluster name`},
		{"burst=bursty-,burst-2=", `burst-2's prefix "" must be 1 to 64 characters`},
		{"burst=bursty-,burst-2=bursty-", `burst-2's prefix "bursty-" must be 1 to 64 characters without a line break, each once`},
		{"burst=b1,c2=b2,c3=b3,c4=b4,c5=b5,c6=b6,c7=b7,c8=b8", "at most 7 clusters after primary"},
	} {
		if _, err := hashmsg.ParseClusters(bad.table); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseClusters(%q) = %v, want an error with %q", bad.table, err, bad.want)
		}
	}
}
