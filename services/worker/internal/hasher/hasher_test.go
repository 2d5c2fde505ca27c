package hasher_test

import (
	"testing"

	"github.com/cloudburst-demo/cloudburst/services/worker/internal/hasher"
)

func TestSumIsSalted(t *testing.T) {
	seen := map[[32]byte]bool{}
	for _, in := range []string{"", "a", "a", "a", "hello world", "hello world"} {
		s := hasher.Sum(in)
		if seen[s] {
			t.Fatalf("Sum(%q) repeated an earlier hash: inputs are not salted", in)
		}
		seen[s] = true
	}
}

func BenchmarkSum(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		hasher.Sum("a-random-string-like-the-frontend-sends")
	}
}
