// Package promserver runs a real Prometheus for integration tests: it scrapes
// the given loopback targets every second and stores nothing outside the
// test's temporary directory.
package promserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// Install is how to get Prometheus on Debian and Ubuntu.
const Install = "apt-get install -y --no-install-recommends prometheus"

// ScrapeInterval is how often the test Prometheus scrapes its targets.
const ScrapeInterval = time.Second

// Server is one Prometheus process owned by a test.
type Server struct {
	// URL is the HTTP API's base, http://127.0.0.1:PORT.
	URL string

	proc *process.Process
}

// Start runs Prometheus scraping targets (host:port, path /metrics) every
// ScrapeInterval and waits until it is ready. It skips the test (fails it in
// CI) when Prometheus is not installed.
func Start(t testing.TB, targets ...string) *Server {
	t.Helper()
	bin := component.Require(t, Install, "prometheus")
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = strconv.Quote(tg)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: %s
  evaluation_interval: %s
scrape_configs:
  - job_name: test
    static_configs:
      - targets: [%s]
`, ScrapeInterval, ScrapeInterval, strings.Join(quoted, ", "))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var url string
	var p *process.Process
	if err := component.RetryPortTaken(t, "starting prometheus", func() (string, error) {
		port := component.FreePort(t)
		url = "http://127.0.0.1:" + strconv.Itoa(port)
		out := &process.Log{}
		var err error
		p, err = process.Start(process.Spec{
			Name: "prometheus", Path: bin,
			Args: []string{"--config.file=" + cfgPath, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
				"--web.listen-address=127.0.0.1:" + strconv.Itoa(port), "--log.level=warn"},
			Lines: func(name, line string) {
				out.Add(name, line)
				t.Logf("%s: %s", name, line)
			},
			Ready:        process.HTTPReady(url + "/-/ready"),
			ReadyTimeout: 20 * time.Second,
		})
		return out.Tail(5), err
	}); err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: url, proc: p}
	t.Cleanup(s.Stop)
	return s
}

// Stop stops Prometheus and waits for it; later calls do nothing.
func (s *Server) Stop() { _ = s.proc.Stop() }
