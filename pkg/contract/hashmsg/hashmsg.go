// Package hashmsg is the contract between the worker, which publishes hashes on
// Redis, and every reader of that channel: a message is the plain text
// PREFIX + base64(sha256(...)). The prefix names the cluster that did the work;
// it is empty in the primary cluster.
package hashmsg

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
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
// worker's answer, as Parse would, without allocating: it is on the path of
// every request the frontend sends.
func ClusterOf(msg []byte) (Cluster, error) {
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
	if split > 0 {
		return Burst, nil
	}
	return Primary, nil
}

// Cluster names the cluster whose worker published a message. Readers
// classify a message once, where it enters (hashmsg.Parse), and pass the
// Cluster on; nobody derives it again from the text.
type Cluster string

// The two clusters. A message without a prefix comes from primary; any
// prefix (such as "bursty-") means the burst cluster.
const (
	Primary Cluster = "primary"
	Burst   Cluster = "burst"
)

// Cluster is the cluster that published the message.
func (m Message) Cluster() Cluster {
	if m.Prefix != "" {
		return Burst
	}
	return Primary
}

// Burst reports whether the message was published by a worker with a prefix,
// which is how the project tells work done in the burst cluster.
func (m Message) Burst() bool { return m.Cluster() == Burst }
