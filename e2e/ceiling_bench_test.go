package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
	"github.com/cloudburst-demo/cloudburst/testkit/redisserver"
)

// The load of the ceiling benchmark: wrk with one thread and 16 keep-alive
// connections posting the frontend's request, rounds of runLength each.
const (
	connections = 16
	runLength   = 4 * time.Second
	rounds      = 7
)

// run is one wrk run against one server.
type run struct {
	rps, p50ms, p99ms float64
	ok, non2xx        int     // answers, as wrk counted them
	publishes         int     // PUBLISH calls Redis counted meanwhile
	idleMB, loadMB    float64 // resident memory before, and the most during
	cpuPerReq         float64 // the server's CPU time per request, in µs
	allocsPerReq      float64 // heap allocations per request; 0 if the server does not say
}

// contender is one server of the benchmark, started with its settings; the
// label its runs are printed and collected under; and whether it runs
// pinned: the server confined to one CPU, wrk and Redis to another.
type contender struct {
	label  string
	s      *service
	pinned bool
}

// BenchmarkWorkerCeiling serves the frontend's request with the real worker
// (and a real Redis) and with a bare net/http server that only reads the
// body (e2e/cmd/bare), alternating, rounds times, under the same wrk load on
// the same cores. The worker runs as its Deployment runs it, with
// GOMAXPROCS=1 (its 500m CPU limit, rounded up). Each round serves each
// server twice:
//
//   - pinned: the server alone on one CPU, wrk and Redis on another, so
//     that the figure is the server's own cost. This is the headline ratio,
//     worker/bare.
//   - shared: all of them free to run anywhere, as they were first
//     measured. Linux then sometimes puts Redis or wrk on the server's CPU
//     and sometimes not, which moves the rates from run to run. The worker
//     and the bare server also run here with Go's default GOMAXPROCS, and
//     the better of the two bare rates is the round's ceiling.
//
// It prints each run and reports the medians: the worker's rate beside the
// ceiling, and their ratio, the figure to read on a shared, noisy machine.
// Run with -benchtime=1x.
func BenchmarkWorkerCeiling(b *testing.B) {
	wrk := component.Require(b, "apt-get install -y --no-install-recommends wrk", "wrk")
	cpus := pinning(b)
	rs := redisserver.Start(b)
	worker := start(b, "worker", map[string]string{"REDIS_URL": rs.Addr, "GOMAXPROCS": "1"})
	bare := start(b, "bare", map[string]string{"GOMAXPROCS": "1"})
	contenders := []contender{
		{"worker pinned", worker, true},
		{"bare pinned", bare, true},
		{"worker", worker, false},
		{"worker-default", start(b, "worker", map[string]string{"REDIS_URL": rs.Addr}), false},
		{"bare", bare, false},
		{"bare-default", start(b, "bare", nil), false},
	}
	script := filepath.Join(b.TempDir(), "post.lua")
	lua := "wrk.method = \"POST\"\nwrk.body = '{\"str\":\"a string the frontend sends\"}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
	if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
		b.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()

	results := map[string][]run{}
	for range b.N {
		for round := range rounds {
			for _, c := range contenders {
				// Pinned or free for this run: the server, Redis, and wrk
				// when it starts.
				load := cpus.all
				if c.pinned {
					load = cpus.load
					pin(b, c.s.proc.Pid(), cpus.server)
				} else {
					pin(b, c.s.proc.Pid(), cpus.all)
				}
				pin(b, rs.Pid(), load)
				r := measure(b, wrk, script, c.s, rdb, load)
				results[c.label] = append(results[c.label], r)
				// To stdout: a benchmark's log keeps only its first lines.
				allocs := "    -"
				if r.allocsPerReq > 0 {
					allocs = fmt.Sprintf("%5.1f", r.allocsPerReq)
				}
				fmt.Printf("round %d %-14s %8.0f req/s  CPU %5.1f µs/req  allocs/req %s  p50 %5.2f ms  p99 %5.2f ms  2xx %7d  non-2xx %d  publishes (Redis) %7d  RSS before %4.1f MB, most %4.1f MB\n",
					round+1, c.label, r.rps, r.cpuPerReq, allocs, r.p50ms, r.p99ms, r.ok, r.non2xx, r.publishes, r.idleMB, r.loadMB)
			}
		}
	}
	median := func(v []float64) float64 {
		slices.Sort(v)
		return v[len(v)/2]
	}
	of := func(label string, f func(run) float64) []float64 {
		var v []float64
		for _, r := range results[label] {
			v = append(v, f(r))
		}
		return v
	}
	rps := func(r run) float64 { return r.rps }
	cpu := func(r run) float64 { return r.cpuPerReq }
	var ratios, sharedCeiling, sharedRatios, defaultRatios []float64
	for i := range results["worker"] {
		ratios = append(ratios, results["worker pinned"][i].rps/results["bare pinned"][i].rps)
		c := max(results["bare"][i].rps, results["bare-default"][i].rps)
		sharedCeiling = append(sharedCeiling, c)
		sharedRatios = append(sharedRatios, results["worker"][i].rps/c)
		defaultRatios = append(defaultRatios, results["worker-default"][i].rps/c)
	}
	slices.Sort(ratios)
	slices.Sort(sharedRatios)
	slices.Sort(defaultRatios)
	fmt.Printf("worker/bare per round (sorted), pinned: %.2f; shared: %.2f; shared, worker with Go's default GOMAXPROCS: %.2f\n",
		ratios, sharedRatios, defaultRatios)
	b.ReportMetric(median(of("worker pinned", rps)), "worker-req/s")
	b.ReportMetric(median(of("bare pinned", rps)), "ceiling-req/s")
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(median(of("worker pinned", cpu)), "worker-CPU-µs/req")
	b.ReportMetric(median(of("bare pinned", cpu)), "bare-CPU-µs/req")
	b.ReportMetric(median(of("worker", rps)), "shared-worker-req/s")
	b.ReportMetric(median(sharedCeiling), "shared-ceiling-req/s")
	b.ReportMetric(median(sharedRatios), "ratio-shared")
	b.ReportMetric(median(defaultRatios), "ratio-default-procs")
	b.ReportMetric(median(of("worker pinned", func(r run) float64 { return r.allocsPerReq })), "worker-allocs/req")
	b.ReportMetric(median(of("worker pinned", func(r run) float64 { return r.p50ms })), "worker-p50-ms")
	b.ReportMetric(median(of("worker pinned", func(r run) float64 { return r.p99ms })), "worker-p99-ms")
	// Idle: before the first load; after it the runtime keeps some heap.
	b.ReportMetric(results["worker pinned"][0].idleMB, "worker-idle-MB")
	b.ReportMetric(slices.Max(slices.Concat(loads(results["worker pinned"]), loads(results["worker"]))), "worker-load-MB")
}

func loads(rs []run) []float64 {
	var out []float64
	for _, r := range rs {
		out = append(out, r.loadMB)
	}
	return out
}

// measure runs wrk, on cpus, against s once, sampling its memory meanwhile
// and counting the PUBLISHes Redis executed.
func measure(b *testing.B, wrk, script string, s *service, rdb *redis.Client, cpus cpuSet) run {
	b.Helper()
	pid := s.proc.Pid()
	var r run
	r.idleMB = rssMB(b, pid)
	before := publishes(b, rdb)
	cpuBefore := cpuTime(b, pid)
	mallocsBefore, counted := mallocs(s)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				r.loadMB = max(r.loadMB, rssMB(b, pid))
			}
		}
	})
	var out bytes.Buffer
	cmd := exec.Command(wrk, "-t1", "-c"+strconv.Itoa(connections), "-d"+runLength.String(), "--latency",
		"-s", script, s.base+"/")
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Start()
	if err == nil {
		pin(b, cmd.Process.Pid, cpus)
		err = cmd.Wait()
	}
	cancel()
	wg.Wait()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out.String())
	}
	r.publishes = publishes(b, rdb) - before
	cpu := cpuTime(b, pid) - cpuBefore
	if err := parseWrk(out.String(), &r); err != nil {
		b.Fatalf("%v in wrk's output:\n%s", err, out.String())
	}
	if n := r.ok + r.non2xx; n > 0 {
		r.cpuPerReq = float64(cpu.Microseconds()) / float64(n)
		if after, ok := mallocs(s); counted && ok {
			r.allocsPerReq = (after - mallocsBefore) / float64(n)
		}
	}
	return r
}

// mallocs is the heap allocations a server has made so far, from its
// /metrics; false for a server without them (the bare one).
func mallocs(s *service) (float64, bool) {
	n, err := promserver.Sample(s.base+"/metrics", "go_memstats_mallocs_total")
	return n, err == nil
}

var (
	wrkRate    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTotal   = regexp.MustCompile(`(\d+) requests in`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)$`)
)

// parseWrk reads the rate, the latency percentiles and the answers from
// wrk's --latency output.
func parseWrk(out string, r *run) error {
	m := wrkRate.FindStringSubmatch(out)
	t := wrkTotal.FindStringSubmatch(out)
	if m == nil || t == nil {
		return fmt.Errorf("no rate")
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	total, _ := strconv.Atoi(t[1])
	if n := wrkNon2xx.FindStringSubmatch(out); n != nil {
		r.non2xx, _ = strconv.Atoi(n[1])
	}
	r.ok = total - r.non2xx
	for _, l := range wrkLatency.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(l[2], 64)
		v *= map[string]float64{"us": 0.001, "ms": 1, "s": 1000}[l[3]]
		if l[1] == "50" {
			r.p50ms = v
		} else {
			r.p99ms = v
		}
	}
	if r.p50ms == 0 || r.p99ms == 0 {
		return fmt.Errorf("no latency percentiles")
	}
	return nil
}

// rssMB is a process's resident memory in MB, from /proc.
func rssMB(b *testing.B, pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	b.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

// cpuTime is the CPU time a process has used, user and system, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s).
func cpuTime(b *testing.B, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(stat), ')')
	f := strings.Fields(string(stat[i+1:])) // from field 3 on
	if i < 0 || len(f) < 13 {
		b.Fatalf("unreadable /proc/%d/stat: %q", pid, stat)
	}
	utime, err1 := strconv.Atoi(f[11])
	stime, err2 := strconv.Atoi(f[12])
	if err1 != nil || err2 != nil {
		b.Fatalf("unreadable /proc/%d/stat: %q", pid, stat)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// publishes is how many PUBLISH commands Redis has executed.
func publishes(b *testing.B, rdb *redis.Client) int {
	b.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	m := regexp.MustCompile(`cmdstat_publish:calls=(\d+)`).FindStringSubmatch(info)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
