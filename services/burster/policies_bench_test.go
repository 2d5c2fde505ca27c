package main

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/usage"
)

// policiesWindow is how long each size is measured once every policy runs.
const policiesWindow = 20 * time.Second

// BenchmarkPolicies measures what one burster (POLICIES=kubernetes) spends
// per policy: 1, 10 and 100 policies at a 1 s interval, each on its own
// VirtualService against the real API server, each scraping its load. It
// reports the CPU time and allocations per reconcile (the process's: the
// operator, and the load exporter its scrapes read), the reconciles per
// second beside the ceiling of one per policy per interval, and the share
// of one core the whole takes, beside the core.
func BenchmarkPolicies(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("policies=%d", n), func(b *testing.B) {
			for range b.N {
				policiesOnce(b, n)
			}
		})
	}
}

func policiesOnce(b *testing.B, n int) {
	c := newCluster(b)
	load := newLoadExporter(b, 5) // below highRps: the weights stay, the loop measures and decides
	for i := range n {
		vs := fmt.Sprintf("worker-%d", i)
		c.copyVS(b, vs)
		p := switchPolicy(fmt.Sprintf("p-%d", i), vs, load, "5s")
		p.Spec.Interval = "1s"
		c.createPolicy(b, p)
	}
	r := c.startPolicies(b, "bench")
	component.Eventually(b, 30*time.Second, "leading", r.leader)
	component.EventuallyNil(b, 120*time.Second, "every policy measuring", func() error {
		list, err := c.policies(b).List(b.Context(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		ready := 0
		for _, u := range list.Items {
			if conditions(u.Object)[v1alpha1.ConditionReady] == "True" {
				ready++
			}
		}
		if ready < n {
			return fmt.Errorf("%d of %d ready", ready, n)
		}
		return nil
	})

	reconciles0, cpu0, allocs0 := reconciles(b), usage.CPU(b), usage.Mallocs()
	start := time.Now()
	time.Sleep(policiesWindow)
	elapsed := time.Since(start)
	done := reconciles(b) - reconciles0
	cpu := usage.CPU(b) - cpu0
	allocs := usage.Mallocs() - allocs0
	if done == 0 {
		b.Fatal("no reconcile in the window")
	}
	perSecond := done / elapsed.Seconds()
	ceiling := float64(n) // one per policy per 1 s interval
	b.ReportMetric(cpu.Seconds()*1e3/done, "cpu-ms/reconcile")
	b.ReportMetric(float64(allocs)/done, "allocs/reconcile")
	b.ReportMetric(perSecond, "reconciles/s")
	b.ReportMetric(perSecond/ceiling, "of-due")
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cores")
	b.Logf("%d policies: %.1f reconciles/s of %.0f due (%.2f), %.2f ms CPU and %.0f allocations each; %.3f of one core",
		n, perSecond, ceiling, perSecond/ceiling, cpu.Seconds()*1e3/done, float64(allocs)/done, cpu.Seconds()/elapsed.Seconds())
}

// conditions reads a policy's conditions, type to status.
func conditions(obj map[string]any) map[string]string {
	out := map[string]string{}
	status, _ := obj["status"].(map[string]any)
	conds, _ := status["conditions"].([]any)
	for _, c := range conds {
		m, _ := c.(map[string]any)
		typ, _ := m["type"].(string)
		s, _ := m["status"].(string)
		out[typ] = s
	}
	return out
}

// reconciles is how many reconciles the burstpolicy controller finished.
func reconciles(b *testing.B) float64 {
	mfs, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "burstpolicy" {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
