package router

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"k8s.io/apimachinery/pkg/watch"
)

func TestAnsweredWithin(t *testing.T) {
	failed := errors.New("forbidden")
	tests := []struct {
		name    string
		answer  time.Duration // how long the API server takes; -1: never
		err     error
		wantErr error
	}{
		{"answered in time", 100 * time.Millisecond, nil, nil},
		{"refused", 100 * time.Millisecond, failed, failed},
		{"never answered", -1, nil, context.DeadlineExceeded},
		{"answered too late", 3 * time.Second, nil, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Inside the bubble, time.Sleep moves the bubble's clock and waits no
			// real time; synctest.Wait waits until every goroutine in it is blocked.
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				w, err := answeredWithin(t.Context(), time.Second, func(ctx context.Context) (watch.Interface, error) {
					if tt.answer < 0 {
						<-ctx.Done() // a hung server: only the context ends the wait
						return nil, ctx.Err()
					}
					time.Sleep(tt.answer) // the API server answering after this long, whatever ctx says
					if tt.err != nil {
						return nil, tt.err
					}
					return watch.NewFakeWithOptions(watch.FakeOptions{}), nil
				})
				took := time.Since(start)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if tt.answer < 0 && took != time.Second {
					t.Fatalf("gave up on a hung server after %s, want the 1s timeout", took)
				}
				if err != nil {
					if w != nil {
						t.Fatal("a watch returned with an error")
					}
					return
				}
				w.Stop() // releases its context; a second Stop must be harmless
				w.Stop()
			})
		})
	}
}
