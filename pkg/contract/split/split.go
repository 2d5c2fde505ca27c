// Package split is the value the burster decides and the routers apply: the
// share of the worker's traffic, in percent, that goes to each destination
// cluster, in spill order (the first is home). It is also the JSON shape
// every process exchanges for it: the burster's status API, the local
// mesh's admin API and the frames the page receives.
//
// A Split is a comparable value: two splits are equal when they name the
// same destinations in the same order with the same weights.
package split

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is returned for weights that are not whole percentages 0..100
// summing to 100, or for destinations that are too few, too many, unnamed
// or named twice. Istio's CRD schema accepts such weights, so the burster
// checks them itself before writing.
var ErrInvalid = errors.New("invalid weights")

// Max is the most destinations a split carries.
const Max = 8

// The two destinations of the two-cluster setup, in spill order.
const (
	Primary = "primary"
	Burst   = "burst"
)

// Share is one destination's weight.
type Share struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
}

// Split is the traffic share of each destination, in percent, in spill
// order. The zero Split has no destinations and is not valid.
type Split struct {
	n      int
	shares [Max]Share
}

// Of returns the split of the given shares, in spill order. It does not
// validate them: Validate does.
func Of(shares ...Share) Split {
	var s Split
	s.n = copy(s.shares[:], shares)
	return s
}

// Home returns the split that sends everything to the first of names.
func Home(names ...string) Split {
	s := Split{n: min(len(names), Max)}
	for i := range s.n {
		s.shares[i].Name = names[i]
	}
	if s.n > 0 {
		s.shares[0].Weight = 100
	}
	return s
}

// AllPrimary sends everything to the primary cluster.
var AllPrimary = WithBurst(0)

// AllBurst sends everything to the burst cluster.
var AllBurst = WithBurst(100)

// WithBurst returns the two-cluster split that sends burst percent to the
// burst cluster and the rest to primary.
func WithBurst(burst int) Split { return Two(100-burst, burst) }

// Two returns the two-cluster split of the given weights, unchecked.
func Two(primary, burst int) Split {
	return Of(Share{Primary, primary}, Share{Burst, burst})
}

// Len is the number of destinations.
func (s Split) Len() int { return s.n }

// Shares returns a copy of the shares, in spill order.
func (s Split) Shares() []Share { return append([]Share(nil), s.shares[:s.n]...) }

// Names returns the destinations' names, in spill order.
func (s Split) Names() []string {
	out := make([]string, s.n)
	for i, sh := range s.shares[:s.n] {
		out[i] = sh.Name
	}
	return out
}

// Weight returns the i-th destination's weight; 0 past the last.
func (s Split) Weight(i int) int {
	if i < 0 || i >= s.n {
		return 0
	}
	return s.shares[i].Weight
}

// Name returns the i-th destination's name; "" past the last.
func (s Split) Name(i int) string {
	if i < 0 || i >= s.n {
		return ""
	}
	return s.shares[i].Name
}

// Index returns the position of the destination named name, or -1.
func (s Split) Index(name string) int {
	for i, sh := range s.shares[:s.n] {
		if sh.Name == name {
			return i
		}
	}
	return -1
}

// Spilled is the share that leaves home: the sum of every weight but the
// first's.
func (s Split) Spilled() int {
	sum := 0
	for _, sh := range s.shares[1:max(1, s.n)] {
		sum += sh.Weight
	}
	return sum
}

// WithWeights returns s's destinations with the given weights, in order;
// missing weights are 0 and extra ones are dropped.
func (s Split) WithWeights(weights ...int) Split {
	for i := range s.n {
		s.shares[i].Weight = 0
		if i < len(weights) {
			s.shares[i].Weight = weights[i]
		}
	}
	return s
}

// Weights returns the weights, in spill order.
func (s Split) Weights() []int {
	out := make([]int, s.n)
	for i, sh := range s.shares[:s.n] {
		out[i] = sh.Weight
	}
	return out
}

// SameDestinations reports whether s and o name the same destinations in
// the same order.
func (s Split) SameDestinations(o Split) bool {
	if s.n != o.n {
		return false
	}
	for i := range s.n {
		if s.shares[i].Name != o.shares[i].Name {
			return false
		}
	}
	return true
}

// Validate reports whether s can be written to a route: two to Max named
// destinations, each named once, with whole percentages 0..100 summing to
// 100.
func (s Split) Validate() error {
	if s.n < 2 {
		return fmt.Errorf("%w: %d destinations (at least 2)", ErrInvalid, s.n)
	}
	sum := 0
	for i, sh := range s.shares[:s.n] {
		if sh.Name == "" {
			return fmt.Errorf("%w: destination %d has no name", ErrInvalid, i)
		}
		if j := s.Index(sh.Name); j != i {
			return fmt.Errorf("%w: destination %q is named twice", ErrInvalid, sh.Name)
		}
		if sh.Weight < 0 || sh.Weight > 100 {
			return fmt.Errorf("%w: %s (each 0 to 100, summing to 100)", ErrInvalid, s)
		}
		sum += sh.Weight
	}
	if sum != 100 {
		return fmt.Errorf("%w: %s (each 0 to 100, summing to 100)", ErrInvalid, s)
	}
	return nil
}

// String is "primary 80 / burst 20".
func (s Split) String() string {
	parts := make([]string, s.n)
	for i, sh := range s.shares[:s.n] {
		parts[i] = fmt.Sprintf("%s %d", sh.Name, sh.Weight)
	}
	return strings.Join(parts, " / ")
}

// MarshalJSON writes s as one object whose keys are the destinations in
// spill order: {"primary":80,"burst":20}.
func (s Split) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, sh := range s.shares[:s.n] {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(sh.Name)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s:%d", name, sh.Weight)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads the object MarshalJSON writes, keeping its keys'
// order as the spill order. More than Max destinations, a key given twice
// or a weight that is not a whole number is an error; the weights are not
// otherwise checked (Validate does).
func (s *Split) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("%w: a split is a JSON object of weights", ErrInvalid)
	}
	var out Split
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		name, _ := tok.(string)
		var w int
		if err := dec.Decode(&w); err != nil {
			return fmt.Errorf("%w: the weight of %q: %v", ErrInvalid, name, err)
		}
		if out.Index(name) >= 0 {
			return fmt.Errorf("%w: destination %q is named twice", ErrInvalid, name)
		}
		if out.n == Max {
			return fmt.Errorf("%w: more than %d destinations", ErrInvalid, Max)
		}
		out.shares[out.n] = Share{name, w}
		out.n++
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	*s = out
	return nil
}
