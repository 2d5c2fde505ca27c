package e2e

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// cpuSet is a set of CPUs a thread may run on.
type cpuSet = unix.CPUSet

// cpuPlan is where the ceiling benchmark's processes run when pinned: the
// server under test on one CPU, the load (wrk and Redis) on another; and
// all the CPUs this process may use, for the runs left free.
type cpuPlan struct {
	server, load, all cpuSet
}

// pinning picks the first two CPUs this process may use. It skips the
// benchmark on a machine with fewer: pinned runs need one for the server
// and one for its load.
func pinning(b *testing.B) cpuPlan {
	b.Helper()
	var p cpuPlan
	if err := unix.SchedGetaffinity(0, &p.all); err != nil {
		b.Fatalf("reading this process's CPUs: %v", err)
	}
	var picked []int
	for cpu := 0; len(picked) < 2 && cpu < len(p.all)*64; cpu++ {
		if p.all.IsSet(cpu) {
			picked = append(picked, cpu)
		}
	}
	if len(picked) < 2 {
		b.Skipf("the ceiling benchmark needs 2 CPUs, one for the server and one for its load; this process may use %d", p.all.Count())
	}
	p.server.Set(picked[0])
	p.load.Set(picked[1])
	return p
}

// pin confines every thread of process pid to cpus. A thread started
// meanwhile inherits the CPUs of the thread that started it, moved yet or
// not, so it goes over the threads until a pass finds none to move.
func pin(b *testing.B, pid int, cpus cpuSet) {
	b.Helper()
	for range 10 {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			b.Fatalf("listing the threads of %d: %v", pid, err)
		}
		moved := 0
		for _, task := range tasks {
			tid, err := strconv.Atoi(task.Name())
			if err != nil {
				continue
			}
			var now unix.CPUSet
			if err := unix.SchedGetaffinity(tid, &now); err != nil || now == cpus {
				continue // gone, or already there
			}
			if err := unix.SchedSetaffinity(tid, &cpus); err != nil && !errors.Is(err, unix.ESRCH) {
				b.Fatalf("pinning thread %d of %d: %v", tid, pid, err)
			}
			moved++
		}
		if moved == 0 {
			return
		}
	}
	b.Fatalf("the threads of %d kept changing while they were pinned", pid)
}
