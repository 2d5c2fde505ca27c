package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
)

// demoPolicy is the BurstPolicy the burster runs in the demo, from the
// flags: the local mesh is the route, and its admin API's metrics are the
// measurement, as Prometheus' would be in the clusters.
func demoPolicy(opt options, meshAdmin string) *v1alpha1.BurstPolicy {
	// Nothing goes to a burst worker the mesh finds not ready.
	dests := []v1alpha1.Destination{{Name: clusters[0].name}}
	for i, c := range clusters[1:opt.clusters] {
		d := v1alpha1.Destination{Name: c.name, Readiness: &v1alpha1.Readiness{FromRouter: true}}
		// Each destination between home and the last carries its
		// capacity (under spillover or slo); the last takes the rest.
		if rps := opt.capacity(i + 1); opt.clusters > 2 && i+2 < opt.clusters && rps > 0 {
			d.CapacityRPS = &rps
		}
		dests = append(dests, d)
	}
	scrape := &v1alpha1.ScrapeMeasurement{
		URL: meshAdmin + "/metrics", Metric: "localmesh_requests_total", Window: "5s",
		// The same counter tells the destinations apart, so a
		// dead worker shows as failing on the page.
		DestinationLabel: "destination", CodeLabel: "code",
		// The SLI from the mesh's latency histogram, which has
		// Istio's buckets: it decides under -strategy=slo, and is
		// shown on the page (with the error budget since the
		// demo started) under either strategy. Beyond two
		// clusters the burster measures each one's latency, but
		// not its traffic or budget.
		LatencyMetric: "localmesh_request_duration_milliseconds",
	}
	p := &v1alpha1.BurstPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: "worker"},
		Spec: v1alpha1.BurstPolicySpec{
			Route:        v1alpha1.Route{LocalMesh: &v1alpha1.LocalMesh{AdminURL: meshAdmin}},
			Destinations: dests,
			Measurement:  v1alpha1.Measurement{Scrape: scrape},
			// The codelab's thresholds.
			Strategy: v1alpha1.Strategy{Type: v1alpha1.StrategyType(opt.strategy), HighRPS: 15, LowRPS: new(10.0),
				SLO: &v1alpha1.SLO{LatencyMS: opt.sloLatencyMS, Target: opt.sloTarget, Window: duration(opt.sloWindow),
					Probe: duration(opt.sloProbe), Headroom: opt.sloHeadroom}},
			Interval: "1s", MinDwell: "5s",
		},
	}
	if opt.strategy == strategySpillover {
		// Primary keeps its capacity; the shares are rounded to 5%. A
		// cluster whose worker dies is left within half a second: the mesh
		// finds it not ready on its first refused connection.
		p.Spec.Strategy.CapacityRPS, p.Spec.Strategy.Step = opt.capacity(0), 5
		p.Spec.Interval = "500ms"
	}
	return p
}

// duration writes d as the API's Duration.
func duration(d time.Duration) v1alpha1.Duration { return v1alpha1.Duration(d.String()) }

// writePolicy checks p as the burster will and writes it into dir, for the
// burster's POLICY_FILE.
func writePolicy(dir string, p *v1alpha1.BurstPolicy) (string, error) {
	if errs := p.Validate(); len(errs) > 0 {
		return "", fmt.Errorf("the burster's policy: %w", errs.ToAggregate())
	}
	b, err := yaml.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("writing the burster's policy: %w", err)
	}
	path := filepath.Join(dir, "burstpolicy.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return "", fmt.Errorf("writing the burster's policy: %w", err)
	}
	return path, nil
}
