package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
	"github.com/cloudburst-demo/cloudburst/testkit/redisserver"
)

// shared are the metric families every service has, which the README names
// as a group ("Go and process metrics", the HTTP request metrics).
func shared(name string) bool {
	return strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") ||
		name == "http_requests_total" || name == "http_request_duration_seconds"
}

// families lists the metric families a service exposes on /metrics.
func families(t *testing.T, base string) []string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s/metrics: %v", base, err)
	}
	var names []string
	for name := range fams {
		if !shared(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// TestMetricsAreDocumented: every metric each service exposes is named in
// its documentation: the worker's and the frontend's in the README's table,
// the burster's in its README. Each runs as in the demo, so that its metrics
// have values: the burster drives a local mesh in front of the worker, and
// the frontend follows the burster.
func TestMetricsAreDocumented(t *testing.T) {
	rs := redisserver.Start(t)
	worker := start(t, "worker", map[string]string{"REDIS_URL": rs.Addr})
	mesh := start(t, "localmesh", map[string]string{"PROXY_PORT": "0", "PRIMARY_URL": worker.base, "BURST_URL": worker.base})
	burster := start(t, "burster", map[string]string{
		"ROUTER": "localmesh", "MESH_ADMIN_URL": mesh.base, "LEADER_ELECT": "false", "MESH_READINESS": "true",
		"SOURCE": "scrape", "SCRAPE_URL": mesh.base + "/metrics", "SCRAPE_METRIC": "localmesh_requests_total",
		"SCRAPE_DESTINATION_LABEL": "destination", "INTERVAL": "200ms",
	})
	frontend := start(t, "frontend", map[string]string{"REDIS_URL": rs.Addr, "PROCESSOR_URL": worker.base + "/", "BURSTER_URL": burster.base})

	// Once the burster has measured twice, every gauge it keeps has a value.
	component.EventuallyNil(t, 10*time.Second, "the burster measuring", func() error {
		v, err := promserver.Sample(burster.base+"/metrics", `burster_query_errors_total{kind="no_data"}`)
		if err == nil && v < 1 {
			err = fmt.Errorf("no_data %v", v)
		}
		return err
	})
	component.EventuallyNil(t, 10*time.Second, "the burster measuring again", func() error {
		_, err := promserver.Sample(burster.base+"/metrics", `burster_destination_rps{destination="burst"}`)
		return err
	})

	metrics := section(t, read(t, "README.md"), "| service | its own metrics |", "\n\n")
	for _, s := range []struct {
		service *service
		table   string // where its metrics are listed
	}{
		{worker, row(t, metrics, "| worker |")},
		{frontend, row(t, metrics, "| frontend |")},
		{burster, section(t, read(t, filepath.Join("services", "burster", "README.md")), "- Metrics on `/metrics`:", "\n- ")},
	} {
		names := families(t, s.service.base)
		if len(names) == 0 {
			t.Fatalf("%s exposes no metric of its own", s.service.name)
		}
		t.Logf("%s: %s", s.service.name, strings.Join(names, " "))
		for _, name := range names {
			// Named in code quotes, alone or with its labels.
			if !strings.Contains(s.table, "`"+name+"`") && !strings.Contains(s.table, "`"+name+"{") {
				t.Errorf("%s exposes %s, which its metrics table does not list:\n%s", s.service.name, name, s.table)
			}
		}
	}
}

// read returns a file of the repository.
func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// row is the line of a Markdown table that starts with prefix.
func row(t *testing.T, doc, prefix string) string {
	t.Helper()
	for line := range strings.Lines(doc) {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	t.Fatalf("no table row %q", prefix)
	return ""
}

// section is doc from the line starting with start to the next end.
func section(t *testing.T, doc, start, end string) string {
	t.Helper()
	i := strings.Index(doc, start)
	if i < 0 {
		t.Fatalf("no %q", start)
	}
	rest := doc[i+len(start):]
	if j := strings.Index(rest, end); j >= 0 {
		rest = rest[:j]
	}
	return start + rest
}
