package router

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// shape is where one kind of routing object keeps its weighted
// destinations: a list of rules, each with a list of destinations that
// carry a weight.
type shape struct {
	kind    string   // VirtualService, HTTPRoute
	rules   []string // the path of the rules: spec.http, spec.rules
	dests   string   // each rule's destinations: route, backendRefs
	targets string   // what the two targets are, for messages: subsets, backends
	// primary and burst are the two targets; target names the one a
	// destination points to ("" for one that can be neither).
	primary, burst string
	target         func(dest map[string]any) string
	// defaultWeight is the weight of a destination that has none.
	defaultWeight int
}

// weighted is one rule's pair of destinations to the two targets.
type weighted struct {
	primary, burst map[string]any
}

// pairs finds every rule whose destinations are exactly the primary and the
// burst targets. It returns the rules (a copy, to write back with
// SetNestedSlice) and the pairs, which point into that copy.
func (r *Object) pairs(obj *unstructured.Unstructured) ([]any, []weighted, error) {
	s := r.shape
	rules, found, err := unstructured.NestedSlice(obj.Object, s.rules...)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrUnsupportedRoute, s.path(), err)
	}
	var out []weighted
	for i, rule := range rules {
		entry, _ := rule.(map[string]any)
		dests, _ := entry[s.dests].([]any)
		var w weighted
		others := 0
		for _, d := range dests {
			dest, _ := d.(map[string]any)
			switch s.target(dest) {
			case s.primary:
				w.primary = dest
			case s.burst:
				w.burst = dest
			default:
				others++
			}
		}
		switch {
		case w.primary == nil && w.burst == nil:
			continue
		case w.primary == nil || w.burst == nil || others > 0:
			return nil, nil, fmt.Errorf("%w: %s[%d] must route to exactly the %s %q and %q",
				ErrUnsupportedRoute, s.path(), i, s.targets, s.primary, s.burst)
		}
		out = append(out, w)
	}
	if !found || len(out) == 0 {
		return nil, nil, fmt.Errorf("%w: %s has no route to the %s %q and %q",
			ErrUnsupportedRoute, r, s.targets, s.primary, s.burst)
	}
	return rules, out, nil
}

// path is the rules' path as kubectl explains it: spec.http.
func (s shape) path() string { return strings.Join(s.rules, ".") }

// read returns the split of the first managed rule, and ErrInconsistent
// when another rule differs or the weights are not a valid split.
func (r *Object) read(obj *unstructured.Unstructured) (split.Split, error) {
	_, pairs, err := r.pairs(obj)
	if err != nil {
		return split.Split{}, err
	}
	first := r.splitOf(pairs[0])
	for _, p := range pairs[1:] {
		if s := r.splitOf(p); s != first {
			return first, fmt.Errorf("%w: %v and %v", ErrInconsistent, first, s)
		}
	}
	if err := first.Validate(); err != nil {
		return first, fmt.Errorf("%w: %v", ErrInconsistent, err)
	}
	return first, nil
}

func (r *Object) splitOf(p weighted) split.Split {
	return split.Split{Primary: r.weight(p.primary), Burst: r.weight(p.burst)}
}

// write sets s on every managed rule of obj; nothing else changes.
func (r *Object) write(obj *unstructured.Unstructured, s split.Split) error {
	rules, pairs, err := r.pairs(obj)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		p.primary["weight"] = int64(s.Primary)
		p.burst["weight"] = int64(s.Burst)
	}
	return unstructured.SetNestedSlice(obj.Object, rules, r.shape.rules...)
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
