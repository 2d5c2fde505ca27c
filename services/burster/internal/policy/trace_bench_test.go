package policy

import "testing"

// BenchmarkTraces drives the policy through every trace, the open ones
// included, and prints each one's figures: the settle time after its first
// event, failed and slow requests, the error budget spent as a share of an
// hour's at the target, the weight changes and primary's mean utilisation
// of its capacity. Run with -benchtime=1x.
func BenchmarkTraces(b *testing.B) {
	for _, tc := range append(traceCases(), openTraces()...) {
		b.Run(tc.name, func(b *testing.B) {
			var r plantRun
			for range b.N {
				pc := tc.plant()
				p, err := New(pc.policy)
				if err != nil {
					b.Fatal(err)
				}
				r = pc.run(tc.trace, p.Next)
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
