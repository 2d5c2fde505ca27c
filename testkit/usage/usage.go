// Package usage reads what this process has spent, for benchmarks that put
// a cost per operation beside its ceiling: CPU time and allocations.
package usage

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// CPU is the CPU time this process has spent, user and system.
func CPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Mallocs is how many heap objects this process has allocated.
func Mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}
