package main

import (
	"io"
	"testing"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
)

// TestPolicyFromFlags: the policy the launcher writes from its flags is
// one the burster reads back (v1alpha1.ReadFile, as POLICIES=file does)
// with the flags' values.
func TestPolicyFromFlags(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"-strategy=slo", "-slo-latency-ms=100", "-slo-window=10s", "-slo-probe=0s", "-slo-headroom=0.1"},
	} {
		opt, err := parseOptions(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		path, err := writePolicy(t.TempDir(), demoPolicy(opt, "http://127.0.0.1:9901"))
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		p, err := v1alpha1.ReadFile(path)
		if err != nil {
			t.Fatalf("%v: the burster would refuse it: %v", args, err)
		}
		s, o := p.Spec.Strategy, p.Spec.Strategy.SLO
		window, _ := o.Window.Duration()
		probe, _ := o.Probe.Duration()
		if string(s.Type) != opt.strategy || o.LatencyMS != opt.sloLatencyMS || window != opt.sloWindow || probe != opt.sloProbe ||
			o.Headroom != opt.sloHeadroom || s.HighRPS != 15 || *s.LowRPS != 10 ||
			p.Spec.Route.LocalMesh.AdminURL != "http://127.0.0.1:9901" || p.Spec.Measurement.Scrape.URL != "http://127.0.0.1:9901/metrics" {
			t.Errorf("%v: read back %+v", args, p.Spec)
		}
		if p.Spec.Interval != "1s" || p.Spec.MinDwell != "5s" {
			t.Errorf("%v: interval %s, dwell %s", args, p.Spec.Interval, p.Spec.MinDwell)
		}
	}
}

// TestPolicyThreeClusters: with -clusters=3 the policy spills across
// primary, burst and burst-2 in order under spillover and slo: burst
// carries its own capacity, burst-2 takes the rest; both burst clusters'
// readiness comes from the mesh, and each one's latency is measured.
func TestPolicyThreeClusters(t *testing.T) {
	for _, strategy := range []string{strategySpillover, strategySLO} {
		t.Run(strategy, func(t *testing.T) {
			opt, err := parseOptions([]string{"-clusters=3", "-strategy=" + strategy, "-capacities=20,15,0"}, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			path, err := writePolicy(t.TempDir(), demoPolicy(opt, "http://127.0.0.1:9901"))
			if err != nil {
				t.Fatal(err)
			}
			p, err := v1alpha1.ReadFile(path)
			if err != nil {
				t.Fatalf("the burster would refuse it: %v", err)
			}
			ds := p.Spec.Destinations
			if len(ds) != 3 || ds[0].Name != "primary" || ds[1].Name != "burst" || ds[2].Name != "burst-2" {
				t.Fatalf("destinations %+v", ds)
			}
			if ds[0].Readiness != nil || !ds[1].Readiness.FromRouter || !ds[2].Readiness.FromRouter {
				t.Errorf("readiness %+v, %+v, %+v", ds[0].Readiness, ds[1].Readiness, ds[2].Readiness)
			}
			if ds[1].CapacityRPS == nil || *ds[1].CapacityRPS != 15 || ds[2].CapacityRPS != nil {
				t.Errorf("capacities: burst %v, burst-2 %v", ds[1].CapacityRPS, ds[2].CapacityRPS)
			}
			s, m := p.Spec.Strategy, p.Spec.Measurement.Scrape
			switch strategy {
			case strategySpillover:
				if s.Type != v1alpha1.StrategySpillover || s.CapacityRPS != 20 || s.Step != 5 || p.Spec.Interval != "500ms" {
					t.Errorf("strategy %+v, interval %s", s, p.Spec.Interval)
				}
			case strategySLO:
				if s.Type != v1alpha1.StrategySLO {
					t.Errorf("strategy %+v", s)
				}
			}
			if m.DestinationLabel != "destination" || m.LatencyMetric != "localmesh_request_duration_milliseconds" {
				t.Errorf("measurement %+v: want each destination's latency", m)
			}
		})
	}
}
