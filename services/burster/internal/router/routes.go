package router

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// weighted is one HTTP route's pair of destinations to the two subsets.
type weighted struct {
	primary, burst map[string]any
}

// pairs finds, in spec.http, every route whose destinations are exactly the
// primary and the burst subsets. It returns the http list (a copy, to write
// back with SetNestedSlice) and the pairs, which point into that copy.
func (r *Istio) pairs(obj *unstructured.Unstructured) ([]any, []weighted, error) {
	http, found, err := unstructured.NestedSlice(obj.Object, "spec", "http")
	if err != nil {
		return nil, nil, fmt.Errorf("%w: spec.http: %v", ErrUnsupportedRoute, err)
	}
	var out []weighted
	for i, h := range http {
		entry, _ := h.(map[string]any)
		dests, _ := entry["route"].([]any)
		var w weighted
		others := 0
		for _, d := range dests {
			dest, _ := d.(map[string]any)
			target, _ := dest["destination"].(map[string]any)
			switch subset, _ := target["subset"].(string); subset {
			case r.primarySub:
				w.primary = dest
			case r.burstSub:
				w.burst = dest
			default:
				others++
			}
		}
		switch {
		case w.primary == nil && w.burst == nil:
			continue
		case w.primary == nil || w.burst == nil || others > 0:
			return nil, nil, fmt.Errorf("%w: spec.http[%d] must route to exactly the subsets %q and %q",
				ErrUnsupportedRoute, i, r.primarySub, r.burstSub)
		}
		out = append(out, w)
	}
	if !found || len(out) == 0 {
		return nil, nil, fmt.Errorf("%w: VirtualService %s/%s has no HTTP route to the subsets %q and %q",
			ErrUnsupportedRoute, r.namespace, r.name, r.primarySub, r.burstSub)
	}
	return http, out, nil
}

// read returns the split of the first managed route, and ErrInconsistent
// when another route differs or the weights are not a valid split.
func (r *Istio) read(obj *unstructured.Unstructured) (split.Split, error) {
	_, pairs, err := r.pairs(obj)
	if err != nil {
		return split.Split{}, err
	}
	first := split.Split{Primary: weight(pairs[0].primary), Burst: weight(pairs[0].burst)}
	for _, p := range pairs[1:] {
		if s := (split.Split{Primary: weight(p.primary), Burst: weight(p.burst)}); s != first {
			return first, fmt.Errorf("%w: %v and %v", ErrInconsistent, first, s)
		}
	}
	if err := first.Validate(); err != nil {
		return first, fmt.Errorf("%w: %v", ErrInconsistent, err)
	}
	return first, nil
}

// write sets s on every managed route of obj; nothing else changes.
func (r *Istio) write(obj *unstructured.Unstructured, s split.Split) error {
	http, pairs, err := r.pairs(obj)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		p.primary["weight"] = int64(s.Primary)
		p.burst["weight"] = int64(s.Burst)
	}
	return unstructured.SetNestedSlice(obj.Object, http, "spec", "http")
}

// weight reads a destination's weight; Istio treats a missing one as 0.
func weight(dest map[string]any) int {
	switch w := dest["weight"].(type) {
	case int64:
		return int(w)
	case float64:
		return int(w)
	}
	return 0
}
