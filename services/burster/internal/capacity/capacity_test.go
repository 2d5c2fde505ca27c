package capacity

import (
	"context"
	"errors"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

func slice(name, service string, ready ...*bool) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns",
		Labels: map[string]string{discoveryv1.LabelServiceName: service}}}
	for i, r := range ready {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{"10.0.0." + string(rune('1'+i))}, Conditions: discoveryv1.EndpointConditions{Ready: r},
		})
	}
	return s
}

// TestReady counts distinct ready endpoints of the one Service: a missing
// condition is ready, a false one is not, an endpoint in two slices counts
// once, other Services' slices not at all; before the list it is unknown.
func TestReady(t *testing.T) {
	cs := fake.NewClientset(
		slice("worker-a", "worker", ptr.To(true), nil, ptr.To(false)),
		slice("worker-b", "worker", ptr.To(true)), // 10.0.0.1 again
		slice("frontend-a", "frontend", ptr.To(true), ptr.To(true), ptr.To(true), ptr.To(true)),
	)
	e, err := New(cs, "ns", "worker", 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Ready(); !errors.Is(err, ErrNotSynced) {
		t.Fatalf("before Run: %v, want ErrNotSynced", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	component.Eventually(t, 5*time.Second, "the informer synced", func() bool { _, err := e.Ready(); return err == nil })
	rps, ready, err := e.Capacity()
	if err != nil || ready != 2 || rps != 20 {
		t.Fatalf("Capacity() = %v, %d, %v; want 20 from 2 ready", rps, ready, err)
	}
	if _, err := New(cs, "ns", "worker", 0); err == nil {
		t.Fatal("a zero rate per endpoint was accepted")
	}
}
