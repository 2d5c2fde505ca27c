package router

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

func vs(http ...any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
		"metadata": map[string]any{"name": "worker", "namespace": "ns"},
		"spec":     map[string]any{"hosts": []any{"worker"}, "http": http},
	}}
}

func route(dests ...any) map[string]any { return map[string]any{"route": dests} }

func dest(subset string, weight any) map[string]any {
	d := map[string]any{"destination": map[string]any{"host": "worker", "subset": subset}}
	if weight != nil {
		d["weight"] = weight
	}
	return d
}

func httpRoute(rules ...any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"name": "worker", "namespace": "ns"},
		"spec":     map[string]any{"rules": rules},
	}}
}

func rule(refs ...any) map[string]any { return map[string]any{"backendRefs": refs} }

// ref is a backendRef to a Service; more sets group, kind and namespace.
func ref(name string, weight any, more ...string) map[string]any {
	r := map[string]any{"name": name, "port": int64(8080)}
	if weight != nil {
		r["weight"] = weight
	}
	for i := 0; i+1 < len(more); i += 2 {
		r[more[i]] = more[i+1]
	}
	return r
}

func TestReadHTTPRoute(t *testing.T) {
	r := NewGatewayAPI(nil, "ns", "worker", TwoTargets("worker-primary", "worker-burst"))
	tests := []struct {
		name    string
		obj     *unstructured.Unstructured
		want    split.Split
		wantErr error
	}{
		{"one rule", httpRoute(rule(ref("worker-primary", int64(70)), ref("worker-burst", int64(30)))), split.WithBurst(30), nil},
		{"core Service spelled out", httpRoute(rule(ref("worker-primary", int64(0), "group", "", "kind", "Service", "namespace", "ns"), ref("worker-burst", int64(100)))), split.AllBurst, nil},
		{"unrelated rules skipped", httpRoute(rule(ref("legacy", nil)), rule(ref("worker-primary", int64(0)), ref("worker-burst", int64(100)))), split.AllBurst, nil},
		{"missing weight is 1 (the API's default)", httpRoute(rule(ref("worker-primary", int64(99)), ref("worker-burst", nil))), split.Two(99, 1), nil},
		{"proportions that are not percentages", httpRoute(rule(ref("worker-primary", int64(1)), ref("worker-burst", int64(1)))), split.Two(1, 1), ErrInconsistent},
		{"rules disagree", httpRoute(rule(ref("worker-primary", int64(100)), ref("worker-burst", int64(0))), rule(ref("worker-primary", int64(0)), ref("worker-burst", int64(100)))), split.AllPrimary, ErrInconsistent},
		{"burst backend missing", httpRoute(rule(ref("worker-primary", int64(100)))), split.Split{}, ErrUnsupportedRoute},
		{"mixed with a third backend", httpRoute(rule(ref("worker-primary", int64(50)), ref("worker-burst", int64(25)), ref("canary", int64(25)))), split.Split{}, ErrUnsupportedRoute},
		{"same name in another namespace", httpRoute(rule(ref("worker-primary", int64(100)), ref("worker-burst", int64(0), "namespace", "elsewhere"))), split.Split{}, ErrUnsupportedRoute},
		{"same name, not a Service", httpRoute(rule(ref("worker-primary", int64(100)), ref("worker-burst", int64(0), "group", "example.com", "kind", "Backend"))), split.Split{}, ErrUnsupportedRoute},
		{"no rules", httpRoute(), split.Split{}, ErrUnsupportedRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkRead(t, r, tt.obj, tt.want, tt.wantErr) })
	}
}

func TestWriteHTTPRouteChangesOnlyWeights(t *testing.T) {
	r := NewGatewayAPI(nil, "ns", "worker", TwoTargets("worker-primary", "worker-burst"))
	obj := httpRoute(
		rule(ref("legacy", int64(1))),
		rule(ref("worker-primary", int64(100)), ref("worker-burst", int64(0))),
		map[string]any{"name": "with-timeout", "timeouts": map[string]any{"request": "5s"},
			"backendRefs": []any{ref("worker-burst", nil), ref("worker-primary", int64(3))}},
	)
	want := obj.DeepCopy()
	rules := want.Object["spec"].(map[string]any)["rules"].([]any)
	refs := func(i int) []any { return rules[i].(map[string]any)["backendRefs"].([]any) }
	refs(1)[0].(map[string]any)["weight"] = int64(40)
	refs(1)[1].(map[string]any)["weight"] = int64(60)
	refs(2)[0].(map[string]any)["weight"] = int64(60) // burst first in this rule
	refs(2)[1].(map[string]any)["weight"] = int64(40)
	if err := r.write(obj, split.WithBurst(60)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(obj.Object, want.Object) {
		t.Fatalf("write changed more than the weights:\n got %v\nwant %v", obj.Object, want.Object)
	}
	if got, err := r.read(obj); err != nil || got != split.WithBurst(60) {
		t.Fatalf("read after write = %v, %v", got, err)
	}
}

func TestRead(t *testing.T) {
	r := NewIstio(nil, "ns", "worker", TwoTargets("primary", "burst"))
	tests := []struct {
		name    string
		obj     *unstructured.Unstructured
		want    split.Split
		wantErr error
	}{
		{"one route", vs(route(dest("primary", int64(70)), dest("burst", int64(30)))), split.WithBurst(30), nil},
		{"float weights", vs(route(dest("primary", float64(100)), dest("burst", float64(0)))), split.AllPrimary, nil},
		{"missing weight is 0", vs(route(dest("primary", int64(100)), dest("burst", nil))), split.AllPrimary, nil},
		{"unrelated routes skipped", vs(route(map[string]any{"destination": map[string]any{"host": "other"}}), route(dest("primary", int64(0)), dest("burst", int64(100)))), split.AllBurst, nil},
		{"routes disagree", vs(route(dest("primary", int64(100)), dest("burst", int64(0))), route(dest("primary", int64(0)), dest("burst", int64(100)))), split.AllPrimary, ErrInconsistent},
		{"weights do not sum to 100", vs(route(dest("primary", int64(50)), dest("burst", int64(40)))), split.Two(50, 40), ErrInconsistent},
		{"burst subset missing", vs(route(dest("primary", int64(100)))), split.Split{}, ErrUnsupportedRoute},
		{"mixed with a third subset", vs(route(dest("primary", int64(50)), dest("burst", int64(25)), dest("canary", int64(25)))), split.Split{}, ErrUnsupportedRoute},
		{"no http routes", vs(), split.Split{}, ErrUnsupportedRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkRead(t, r, tt.obj, tt.want, tt.wantErr) })
	}
}

func TestWriteChangesOnlyWeights(t *testing.T) {
	r := NewIstio(nil, "ns", "worker", TwoTargets("primary", "burst"))
	obj := vs(
		route(map[string]any{"destination": map[string]any{"host": "other"}, "weight": int64(100)}),
		route(dest("primary", int64(100)), dest("burst", int64(0))),
		route(dest("primary", int64(90)), dest("burst", nil)),
	)
	want := obj.DeepCopy()
	http := want.Object["spec"].(map[string]any)["http"].([]any)
	for _, i := range []int{1, 2} {
		dests := http[i].(map[string]any)["route"].([]any)
		dests[0].(map[string]any)["weight"] = int64(40)
		dests[1].(map[string]any)["weight"] = int64(60)
	}
	if err := r.write(obj, split.WithBurst(60)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(obj.Object, want.Object) {
		t.Fatalf("write changed more than the weights:\n got %v\nwant %v", obj.Object, want.Object)
	}
	if got, err := r.read(obj); err != nil || got != split.WithBurst(60) {
		t.Fatalf("read after write = %v, %v", got, err)
	}
}

// TestThreeTargets reads and writes a route to three clusters in spill
// order, and refuses a route or a split that leaves one out.
func TestThreeTargets(t *testing.T) {
	targets := []Target{{"primary", "primary"}, {"burst", "burst"}, {"burst-2", "burst-eu"}}
	r := NewIstio(nil, "ns", "worker", targets)
	three := func(p, b, e int) split.Split {
		return split.Of(split.Share{Name: "primary", Weight: p}, split.Share{Name: "burst", Weight: b}, split.Share{Name: "burst-2", Weight: e})
	}
	reads := []struct {
		name    string
		obj     *unstructured.Unstructured
		want    split.Split
		wantErr error
	}{
		{"in spill order", vs(route(dest("primary", int64(50)), dest("burst", int64(30)), dest("burst-eu", int64(20)))), three(50, 30, 20), nil},
		{"in any order", vs(route(dest("burst-eu", int64(20)), dest("primary", int64(50)), dest("burst", int64(30)))), three(50, 30, 20), nil},
		{"the third left out", vs(route(dest("primary", int64(70)), dest("burst", int64(30)))), split.Split{}, ErrUnsupportedRoute},
		{"one subset twice", vs(route(dest("primary", int64(50)), dest("burst", int64(30)), dest("burst", int64(20)))), split.Split{}, ErrUnsupportedRoute},
		{"routes disagree", vs(route(dest("primary", int64(50)), dest("burst", int64(30)), dest("burst-eu", int64(20))), route(dest("primary", int64(100)), dest("burst", int64(0)), dest("burst-eu", int64(0)))), three(50, 30, 20), ErrInconsistent},
	}
	for _, tt := range reads {
		t.Run(tt.name, func(t *testing.T) { checkRead(t, r, tt.obj, tt.want, tt.wantErr) })
	}
	_, err := r.read(vs(route(dest("primary", int64(70)), dest("burst", int64(30)))))
	if want := `spec.http[0] must route to exactly the subsets "primary", "burst" and "burst-eu", each once`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to say %q", err, want)
	}

	obj := vs(route(dest("burst-eu", int64(0)), dest("primary", int64(100)), dest("burst", int64(0))))
	if err := r.write(obj, three(40, 40, 20)); err != nil {
		t.Fatal(err)
	}
	dests := obj.Object["spec"].(map[string]any)["http"].([]any)[0].(map[string]any)["route"].([]any)
	for i, want := range []int64{20, 40, 40} { // the route's own order is kept
		if got := dests[i].(map[string]any)["weight"]; got != want {
			t.Errorf("route[%d] weight %v, want %d", i, got, want)
		}
	}
	for _, bad := range []split.Split{split.WithBurst(20), split.Of(split.Share{Name: "primary", Weight: 40}, split.Share{Name: "burst-2", Weight: 40}, split.Share{Name: "burst", Weight: 20})} {
		if err := r.fits(bad); !errors.Is(err, split.ErrInvalid) {
			t.Errorf("fits(%v) = %v, want ErrInvalid", bad, err)
		}
	}
}

// checkRead reads obj with r and fails unless it gives want and an error
// wrapping wantErr (nil: no error).
func checkRead(t *testing.T, r *Object, obj *unstructured.Unstructured, want split.Split, wantErr error) {
	t.Helper()
	got, err := r.read(obj)
	if !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
		t.Fatalf("read = %v, %v; want error %v", got, err, wantErr)
	}
	if got != want {
		t.Fatalf("read = %v, want %v", got, want)
	}
}
