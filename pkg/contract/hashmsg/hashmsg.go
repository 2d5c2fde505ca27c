// Package hashmsg is the contract between the worker, which publishes hashes on
// Redis, and every reader of that channel: a message is the plain text
// PREFIX + base64(sha256(...)). The prefix names the cluster that did the work;
// it is empty in the primary cluster. A table of prefixes (Clusters) tells
// more than one burst cluster apart.
package hashmsg

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// DefaultChannel is the Redis channel the codelab used and the default of
// REDIS_CHANNEL in every service.
const DefaultChannel = "calculation"

// HashLen is the length of the hash part of a message: standard base64 of a
// SHA-256 sum, padding included. Base64 never contains '-', so a prefix such
// as "bursty-" can be told apart from the hash by length alone.
const HashLen = (sha256.Size + 2) / 3 * 4

// ErrMalformed is returned by Parse for text that is not a message.
var ErrMalformed = errors.New("malformed hash message")

// Message is one published hash split into its parts.
type Message struct {
	Prefix string // "" in the primary cluster, e.g. "bursty-" in the burst cluster
	Hash   string // base64(sha256(...)), HashLen characters
}

// Format returns the wire form of a message: prefix followed by the base64 sum.
func Format(prefix string, sum [sha256.Size]byte) string {
	var hash [HashLen]byte
	base64.StdEncoding.Encode(hash[:], sum[:])
	var b strings.Builder
	b.Grow(len(prefix) + HashLen)
	b.WriteString(prefix)
	b.Write(hash[:])
	return b.String()
}

// Parse splits a published message into prefix and hash.
func Parse(msg string) (Message, error) {
	if len(msg) < HashLen {
		return Message{}, fmt.Errorf("%w: %d characters, want at least %d", ErrMalformed, len(msg), HashLen)
	}
	split := len(msg) - HashLen
	hash := msg[split:]
	raw, err := base64.StdEncoding.DecodeString(hash)
	if err != nil || len(raw) != sha256.Size {
		return Message{}, fmt.Errorf("%w: hash part is not base64 of a SHA-256 sum", ErrMalformed)
	}
	prefix := msg[:split]
	if strings.ContainsAny(prefix, "\r\n") {
		return Message{}, fmt.Errorf("%w: prefix contains a line break", ErrMalformed)
	}
	return Message{Prefix: prefix, Hash: hash}, nil
}

// ClusterOf classifies a message given as bytes, such as inside the
// worker's answer, as Parse would, by DefaultClusters.
func ClusterOf(msg []byte) (Cluster, error) { return DefaultClusters.ClusterOf(msg) }

// ClusterOf classifies a message given as bytes, such as inside the
// worker's answer, as Parse would, without allocating: it is on the path of
// every request the frontend sends.
func (t Clusters) ClusterOf(msg []byte) (Cluster, error) {
	if len(msg) < HashLen {
		return "", fmt.Errorf("%w: %d characters, want at least %d", ErrMalformed, len(msg), HashLen)
	}
	var raw [sha256.Size + 2]byte
	split := len(msg) - HashLen
	if n, err := base64.StdEncoding.Decode(raw[:], msg[split:]); err != nil || n != sha256.Size {
		return "", fmt.Errorf("%w: hash part is not base64 of a SHA-256 sum", ErrMalformed)
	}
	if bytes.ContainsAny(msg[:split], "\r\n") {
		return "", fmt.Errorf("%w: prefix contains a line break", ErrMalformed)
	}
	return t.of(msg[:split]), nil
}

// Cluster names the cluster whose worker published a message. Readers
// classify a message once, where it enters (hashmsg.Parse), and pass the
// Cluster on; nobody derives it again from the text.
type Cluster string

// The first two clusters. A message without a prefix comes from primary;
// by DefaultClusters any prefix (such as "bursty-") means the burst cluster.
const (
	Primary Cluster = "primary"
	Burst   Cluster = "burst"
)

// Cluster is the cluster that published the message, by DefaultClusters.
func (m Message) Cluster() Cluster { return DefaultClusters.Of(m.Prefix) }

// Clusters is the prefix table: which cluster's workers publish with which
// PREFIX, in spill order. Primary's workers publish without one; a prefix
// the table names is its cluster's; any other prefix is burst's, so a burst
// worker with a PREFIX the table does not know is still told from primary.
// The zero value is DefaultClusters.
type Clusters struct {
	further []Cluster // after burst, in spill order
	prefix  []string  // further[i]'s PREFIX
}

// DefaultClusters knows primary and burst: no prefix is primary, any prefix
// burst.
var DefaultClusters Clusters

// MaxClusters bounds the table: the split's most destinations.
const MaxClusters = 8

// ParseClusters reads a table of the clusters after primary, in spill
// order: "burst=bursty-,burst-2=bursty2-". The first is burst; each name is
// a DNS label used once, each prefix non-empty, without a line break, used
// once. An empty table is DefaultClusters.
func ParseClusters(s string) (Clusters, error) {
	var t Clusters
	if strings.TrimSpace(s) == "" {
		return t, nil
	}
	seen := map[string]bool{string(Primary): true}
	prefixes := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		name, prefix, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
			return Clusters{}, fmt.Errorf("cluster prefixes: %q is not NAME=PREFIX", part)
		case i == 0 && name != string(Burst):
			return Clusters{}, fmt.Errorf("cluster prefixes: the first is %s's, not %q", Burst, name)
		case i+1 >= MaxClusters:
			return Clusters{}, fmt.Errorf("cluster prefixes: at most %d clusters after primary", MaxClusters-1)
		case !dnsLabel(name) || seen[name]:
			return Clusters{}, fmt.Errorf("cluster prefixes: %q is not a new cluster name (a DNS label, each once, not %s)", name, Primary)
		case prefix == "" || strings.ContainsAny(prefix, "\r\n") || len(prefix) > maxPrefix || prefixes[prefix]:
			return Clusters{}, fmt.Errorf("cluster prefixes: %s's prefix %q must be 1 to %d characters without a line break, each once", name, prefix, maxPrefix)
		}
		seen[name], prefixes[prefix] = true, true
		if i > 0 {
			t.further = append(t.further, Cluster(name))
			t.prefix = append(t.prefix, prefix)
		}
	}
	return t, nil
}

// maxPrefix bounds a prefix: what the frontend reads of an answer holds it.
const maxPrefix = 64

func dnsLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// Names are the clusters in spill order: primary, burst, then the rest.
func (t Clusters) Names() []Cluster {
	return append([]Cluster{Primary, Burst}, t.further...)
}

// Knows reports whether c is one of the table's clusters.
func (t Clusters) Knows(c Cluster) bool {
	return c == Primary || c == Burst || slices.Contains(t.further, c)
}

// Of is the cluster of a message with prefix.
func (t Clusters) Of(prefix string) Cluster { return t.of([]byte(prefix)) }

func (t Clusters) of(prefix []byte) Cluster {
	if len(prefix) == 0 {
		return Primary
	}
	for i, p := range t.prefix {
		if string(prefix) == p { // compared without allocating
			return t.further[i]
		}
	}
	return Burst
}

// Burst reports whether the message was published by a worker with a prefix,
// which is how the project tells work done in the burst cluster.
func (m Message) Burst() bool { return m.Cluster() == Burst }
