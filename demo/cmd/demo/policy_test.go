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
