//go:build !linux

package e2e

import "testing"

// cpuSet stands in for Linux's CPU sets: other kernels cannot confine a
// process's threads to given CPUs.
type cpuSet struct{}

// cpuPlan is where the ceiling benchmark's processes would run.
type cpuPlan struct {
	server, load, all cpuSet
}

// pinning skips the ceiling benchmark: its figures are read from pinned
// runs, which need Linux's CPU affinity (and /proc for CPU time and memory).
func pinning(b *testing.B) cpuPlan {
	b.Skip("the ceiling benchmark pins processes to CPUs and reads /proc: it runs on Linux only")
	return cpuPlan{}
}

// pin is never reached: pinning skips first.
func pin(*testing.B, int, cpuSet) {}
