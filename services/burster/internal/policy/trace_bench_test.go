package policy

import "testing"

// BenchmarkTraces drives the policy, and beside it the stepping baseline it
// replaced, through every trace and prints each one's figures: the settle
// time after its first event, failed and slow requests, the error budget
// spent as a share of an hour's at the target, the weight changes and
// primary's mean utilisation of its capacity. Run with -benchtime=1x.
func BenchmarkTraces(b *testing.B) {
	for _, tc := range traceCases() {
		for _, c := range controllers {
			b.Run(tc.name+"/policy="+c.name, func(b *testing.B) {
				var r plantRun
				for range b.N {
					pc := tc.plant()
					r = pc.run(tc.trace, c.of(b, pc.policy))
				}
				end := r.cfg.end(r)
				b.ReportMetric(r.settle(tc.events[0], end).Seconds(), "settle-s")
				b.ReportMetric(r.failed(0, end), "failed")
				b.ReportMetric(r.bad(0, end)-r.failed(0, end), "slow")
				b.ReportMetric(100*r.budgetSpent(0, end), "budget-%/h")
				b.ReportMetric(float64(len(r.changes)), "changes")
				b.ReportMetric(100*r.utilisation(0, end), "utilisation-%")
				if err := tc.check(r); err != nil {
					b.Log(err)
				}
			})
		}
	}
}
