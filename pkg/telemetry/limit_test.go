package telemetry

import (
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	l := &Limit{Every: time.Hour}
	if ok, held := l.Allow(); !ok || held != 0 {
		t.Fatalf("first = %v, %d", ok, held)
	}
	for range 5 {
		if ok, _ := l.Allow(); ok {
			t.Fatal("passed a second line within Every")
		}
	}
	l.next = time.Now() // Every has passed
	if ok, held := l.Allow(); !ok || held != 5 {
		t.Fatalf("after Every = %v, %d; want true, 5 held back", ok, held)
	}
}
