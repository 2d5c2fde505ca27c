package router

import (
	"errors"
	"reflect"
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

func TestRead(t *testing.T) {
	r := NewIstio(nil, "ns", "worker", "primary", "burst")
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
		{"weights do not sum to 100", vs(route(dest("primary", int64(50)), dest("burst", int64(40)))), split.Split{Primary: 50, Burst: 40}, ErrInconsistent},
		{"burst subset missing", vs(route(dest("primary", int64(100)))), split.Split{}, ErrUnsupportedRoute},
		{"mixed with a third subset", vs(route(dest("primary", int64(50)), dest("burst", int64(25)), dest("canary", int64(25)))), split.Split{}, ErrUnsupportedRoute},
		{"no http routes", vs(), split.Split{}, ErrUnsupportedRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.read(tt.obj)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("read = %v, %v; want error %v", got, err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("read = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWriteChangesOnlyWeights(t *testing.T) {
	r := NewIstio(nil, "ns", "worker", "primary", "burst")
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
