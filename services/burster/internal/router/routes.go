package router

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// Target is one destination of a route: its name in the split and what the
// route calls it (a VirtualService's subset, an HTTPRoute's backend).
type Target struct {
	Name string // the destination: primary, burst
	Ref  string // the subset or the backend Service
}

// TwoTargets are the two-cluster setup's targets: primary and burst, in
// that order, with the given subsets or backends.
func TwoTargets(primary, burst string) []Target {
	return []Target{{split.Primary, primary}, {split.Burst, burst}}
}

// shape is where one kind of routing object keeps its weighted
// destinations: a list of rules, each with a list of destinations that
// carry a weight.
type shape struct {
	kind  string   // VirtualService, HTTPRoute
	rules []string // the path of the rules: spec.http, spec.rules
	dests string   // each rule's destinations: route, backendRefs
	what  string   // what the targets are, for messages: subsets, backends
	// targets are the destinations in spill order; target names the one a
	// route's destination points to ("" for one that can be none).
	targets []Target
	target  func(dest map[string]any) string
	// defaultWeight is the weight of a destination that has none.
	defaultWeight int
}

// weighted is one rule's destinations, one per target, in the targets'
// order.
type weighted []map[string]any

// managed finds every rule whose destinations are exactly the targets, each
// once. It returns the rules (a copy, to write back with SetNestedSlice) and
// each managed rule's destinations, which point into that copy. A rule that
// routes to some targets but not exactly all of them is an error: the
// burster will not guess the weights of a route it does not fully own.
func (r *Object) managed(obj *unstructured.Unstructured) ([]any, []weighted, error) {
	s := r.shape
	rules, found, err := unstructured.NestedSlice(obj.Object, s.rules...)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrUnsupportedRoute, s.path(), err)
	}
	var out []weighted
	for i, rule := range rules {
		entry, _ := rule.(map[string]any)
		dests, _ := entry[s.dests].([]any)
		w := make(weighted, len(s.targets))
		matched, others, twice := 0, 0, false
		for _, d := range dests {
			dest, _ := d.(map[string]any)
			j := s.index(s.target(dest))
			switch {
			case j < 0:
				others++
			case w[j] != nil:
				twice = true
			default:
				w[j] = dest
				matched++
			}
		}
		switch {
		case matched == 0 && !twice:
			continue
		case matched < len(s.targets) || others > 0 || twice:
			return nil, nil, fmt.Errorf("%w: %s[%d] must route to exactly the %s %s, each once",
				ErrUnsupportedRoute, s.path(), i, s.what, s.refs())
		}
		out = append(out, w)
	}
	if !found || len(out) == 0 {
		return nil, nil, fmt.Errorf("%w: %s has no route to the %s %s", ErrUnsupportedRoute, r, s.what, s.refs())
	}
	return rules, out, nil
}

// index is the position of the target ref points to, or -1.
func (s shape) index(ref string) int {
	if ref == "" {
		return -1
	}
	for i, t := range s.targets {
		if t.Ref == ref {
			return i
		}
	}
	return -1
}

// refs names the targets for messages: "primary" and "burst", or "a", "b"
// and "c".
func (s shape) refs() string {
	q := make([]string, len(s.targets))
	for i, t := range s.targets {
		q[i] = fmt.Sprintf("%q", t.Ref)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// path is the rules' path as kubectl explains it: spec.http.
func (s shape) path() string { return strings.Join(s.rules, ".") }

// read returns the split of the first managed rule, and ErrInconsistent
// when another rule differs or the weights are not a valid split.
func (r *Object) read(obj *unstructured.Unstructured) (split.Split, error) {
	_, rules, err := r.managed(obj)
	if err != nil {
		return split.Split{}, err
	}
	first := r.splitOf(rules[0])
	for _, w := range rules[1:] {
		if s := r.splitOf(w); s != first {
			return first, fmt.Errorf("%w: %v and %v", ErrInconsistent, first, s)
		}
	}
	if err := first.Validate(); err != nil {
		return first, fmt.Errorf("%w: %v", ErrInconsistent, err)
	}
	return first, nil
}

func (r *Object) splitOf(w weighted) split.Split {
	shares := make([]split.Share, len(w))
	for i, dest := range w {
		shares[i] = split.Share{Name: r.shape.targets[i].Name, Weight: r.weight(dest)}
	}
	return split.Of(shares...)
}

// write sets s on every managed rule of obj; nothing else changes.
func (r *Object) write(obj *unstructured.Unstructured, s split.Split) error {
	rules, managed, err := r.managed(obj)
	if err != nil {
		return err
	}
	for _, w := range managed {
		for i, dest := range w {
			dest["weight"] = int64(s.Weight(i))
		}
	}
	return unstructured.SetNestedSlice(obj.Object, rules, r.shape.rules...)
}

// fits reports whether s names the router's destinations, in order.
func (r *Object) fits(s split.Split) error {
	names := make([]string, len(r.shape.targets))
	for i, t := range r.shape.targets {
		names[i] = t.Name
	}
	if !s.SameDestinations(split.Home(names...)) {
		return fmt.Errorf("%w: %v is not a split of %s", split.ErrInvalid, s, strings.Join(names, ", "))
	}
	return nil
}

// weight reads a destination's weight, or the kind's default.
func (r *Object) weight(dest map[string]any) int {
	switch w := dest["weight"].(type) {
	case int64:
		return int(w)
	case float64:
		return int(w)
	}
	return r.shape.defaultWeight
}
