package config

import (
	"slices"
	"testing"

	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
	"github.com/cloudburst-demo/cloudburst/testkit/configtest"
)

func TestConfig(t *testing.T) {
	configtest.Run(t, envconf.Load[Config], []configtest.Case[Config]{
		{Name: "defaults are the codelab's", Check: func(t *testing.T, c Config) {
			if c.Strategy != "switch" || c.HighRPS != 15 || c.LowRPS != 10 || c.Interval.String() != "1s" ||
				c.VirtualService != "worker" || c.PrimarySubset != "primary" || c.BurstSubset != "burst" ||
				!c.LeaderElect || c.DryRun || c.Query != DefaultQuery || c.FailSafe != "hold" || c.SLOBudgetQuery != DefaultBudgetQuery {
				t.Fatalf("defaults = %+v", c)
			}
		}},
		{Name: "spillover", Env: map[string]string{"STRATEGY": "spillover", "CAPACITY_RPS": "40", "STEP": "10"}, Check: func(t *testing.T, c Config) {
			if c.Strategy != "spillover" || c.CapacityRPS != 40 || c.Step != 10 {
				t.Fatalf("config = %+v", c)
			}
		}},
		{Name: "scrape", Env: map[string]string{"SOURCE": "scrape", "SCRAPE_URL": "http://127.0.0.1:9/metrics", "SCRAPE_METRIC": "m_total"}},
		{Name: "scrape with destinations", Env: map[string]string{"SOURCE": "scrape", "SCRAPE_URL": "http://127.0.0.1:9/metrics", "SCRAPE_METRIC": "m_total",
			"SCRAPE_DESTINATION_LABEL": "destination"}, Check: func(t *testing.T, c Config) {
			if s := c.SourceConfig(); s.ScrapeDestinationLabel != "destination" || s.ScrapeCodeLabel != "code" {
				t.Fatalf("source config = %+v", s)
			}
		}},
		{Name: "scrape destinations without a code label", Env: map[string]string{"SOURCE": "scrape", "SCRAPE_URL": "http://127.0.0.1:9/metrics",
			"SCRAPE_METRIC": "m_total", "SCRAPE_DESTINATION_LABEL": "code"}, WantErr: "SCRAPE_CODE_LABEL must be set, and differ"},
		{Name: "scrape without URL", Env: map[string]string{"SOURCE": "scrape"}, WantErr: "SCRAPE_URL"},
		{Name: "unknown source", Env: map[string]string{"SOURCE": "vibes"}, WantErr: "SOURCE"},
		{Name: "policies from Kubernetes: the policy variables are not read",
			Env: map[string]string{"POLICIES": "kubernetes", "STRATEGY": "slo", "LOW_RPS": "99", "PROMETHEUS_URL": ""}},
		{Name: "policies from Kubernetes: the election still checked",
			Env: map[string]string{"POLICIES": "kubernetes", "LEASE_DURATION": "1s"}, WantErr: "LEASE_DURATION > RENEW_DEADLINE"},
		{Name: "a policy file", Env: map[string]string{"POLICIES": "file", "POLICY_FILE": "/p.yaml", "LOW_RPS": "99"}},
		{Name: "a policy file needs its path", Env: map[string]string{"POLICIES": "file"}, WantErr: "POLICY_FILE is required"},
		{Name: "unknown policies", Env: map[string]string{"POLICIES": "crd"}, WantErr: "POLICIES"},
		{Name: "unknown router", Env: map[string]string{"ROUTER": "nginx"}, WantErr: "ROUTER"},
		{Name: "local mesh", Env: map[string]string{"ROUTER": "localmesh", "MESH_ADMIN_URL": "http://127.0.0.1:8084", "LEADER_ELECT": "false"}},
		{Name: "local mesh without URL", Env: map[string]string{"ROUTER": "localmesh", "LEADER_ELECT": "false"}, WantErr: "MESH_ADMIN_URL"},
		{Name: "local mesh cannot elect", Env: map[string]string{"ROUTER": "localmesh", "MESH_ADMIN_URL": "http://127.0.0.1:8084"}, WantErr: "LEADER_ELECT=false"},
		{Name: "low above high", Env: map[string]string{"LOW_RPS": "20"}, WantErr: "LOW_RPS: must be 0 or more and below the high threshold (15), got 20"},
		{Name: "same subsets", Env: map[string]string{"BURST_SUBSET": "primary"}, WantErr: "BURST_SUBSET"},
		{Name: "gateway api", Env: map[string]string{"ROUTER": "gatewayapi"}, Check: func(t *testing.T, c Config) {
			if c.Router != "gatewayapi" || c.HTTPRoute != "worker" || c.PrimaryBackend != "worker-primary" || c.BurstBackend != "worker-burst" {
				t.Fatalf("config = %+v", c)
			}
		}},
		{Name: "gateway api, same backends", Env: map[string]string{"ROUTER": "gatewayapi", "BURST_BACKEND": "worker-primary"}, WantErr: "BURST_BACKEND"},
		{Name: "gateway api, no route", Env: map[string]string{"ROUTER": "gatewayapi", "HTTP_ROUTE": ""}, WantErr: "HTTP_ROUTE must be set"},
		{Name: "subsets do not matter to the gateway api", Env: map[string]string{"ROUTER": "gatewayapi", "BURST_SUBSET": "primary"}},
		{Name: "backends do not matter to istio", Env: map[string]string{"BURST_BACKEND": "worker-primary"}},
		{Name: "live capacity", Env: map[string]string{"STRATEGY": "spillover", "CAPACITY_PER_ENDPOINT_RPS": "10"}, Check: func(t *testing.T, c Config) {
			if c.PerEndpointRPS != 10 || c.WorkerService != "worker" {
				t.Fatalf("config = %+v", c)
			}
		}},
		{Name: "live capacity with switch", Env: map[string]string{"CAPACITY_PER_ENDPOINT_RPS": "10"}, WantErr: "STRATEGY=spillover and BURST_PRESCALE only"},
		{Name: "prescale", Env: map[string]string{"BURST_PRESCALE": "true", "BURST_KUBECONFIG": "/k", "CAPACITY_PER_ENDPOINT_RPS": "10"},
			Check: func(t *testing.T, c Config) {
				if c.WarmRPS != 10 || c.BurstHPA != "worker" || c.BurstCooldown.String() != "5m0s" || c.PrescaleWait.String() != "1m0s" {
					t.Fatalf("config = %+v", c)
				}
			}},
		{Name: "prescale without the burst cluster", Env: map[string]string{"BURST_PRESCALE": "true", "CAPACITY_PER_ENDPOINT_RPS": "10"}, WantErr: "needs BURST_KUBECONFIG"},
		{Name: "prescale above high", Env: map[string]string{"BURST_PRESCALE": "true", "BURST_KUBECONFIG": "/k", "CAPACITY_PER_ENDPOINT_RPS": "10",
			"WARM_RPS": "20"}, WantErr: "WARM_RPS must be above 0 and below HIGH_RPS (15), got 20"},
		{Name: "prescale with spillover", Env: map[string]string{"BURST_PRESCALE": "true", "BURST_KUBECONFIG": "/k", "CAPACITY_PER_ENDPOINT_RPS": "10",
			"STRATEGY": "spillover"}, WantErr: "STRATEGY=switch, step or slo"},
		{Name: "prescale with slo", Env: map[string]string{"BURST_PRESCALE": "true", "BURST_KUBECONFIG": "/k", "CAPACITY_PER_ENDPOINT_RPS": "10",
			"STRATEGY": "slo", "WARM_RPS": "18"}},
		{Name: "prescale with slo, no warm rate", Env: map[string]string{"BURST_PRESCALE": "true", "BURST_KUBECONFIG": "/k", "CAPACITY_PER_ENDPOINT_RPS": "10",
			"STRATEGY": "slo", "WARM_RPS": "0"}, WantErr: "WARM_RPS must be above 0, got 0"},
		{Name: "live capacity with the local mesh", Env: map[string]string{"STRATEGY": "spillover", "CAPACITY_PER_ENDPOINT_RPS": "10",
			"ROUTER": "localmesh", "MESH_ADMIN_URL": "http://127.0.0.1:8084", "LEADER_ELECT": "false"}, WantErr: "not with ROUTER=localmesh"},
		{Name: "negative capacity per endpoint", Env: map[string]string{"CAPACITY_PER_ENDPOINT_RPS": "-1"}, WantErr: "must not be negative"},
		{Name: "mesh readiness", Env: map[string]string{"ROUTER": "localmesh", "MESH_ADMIN_URL": "http://127.0.0.1:8084", "LEADER_ELECT": "false",
			"MESH_READINESS": "true"}},
		{Name: "mesh readiness needs the local mesh", Env: map[string]string{"MESH_READINESS": "true"}, WantErr: "only with ROUTER=localmesh"},
		{Name: "burst kubeconfig is not for the local mesh", Env: map[string]string{"ROUTER": "localmesh", "MESH_ADMIN_URL": "http://127.0.0.1:8084",
			"LEADER_ELECT": "false", "BURST_KUBECONFIG": "/x"}, WantErr: "BURST_KUBECONFIG reads the burst cluster's Kubernetes API"},
		{Name: "lease timings", Env: map[string]string{"RENEW_DEADLINE": "20s"}, WantErr: "LEASE_DURATION > RENEW_DEADLINE"},
		{Name: "lease timings ignored without election", Env: map[string]string{"LEADER_ELECT": "false", "RENEW_DEADLINE": "20s"}},
		{Name: "bad strategy", Env: map[string]string{"STRATEGY": "yolo"}, WantErr: `assigning STRATEGY to Strategy: converting 'yolo' to type policy.StrategyName. details: "yolo" is not one of [switch step spillover slo]`},
		{Name: "strategy in capitals", Env: map[string]string{"STRATEGY": "Switch"}, WantErr: "STRATEGY"},
		{Name: "step zero", Env: map[string]string{"STRATEGY": "step", "STEP": "0"}, WantErr: "STEP: must be 1 to 100 percent"},
		{Name: "spillover without capacity", Env: map[string]string{"STRATEGY": "spillover", "CAPACITY_RPS": "0"}, WantErr: "CAPACITY_RPS: must be positive"},
		{Name: "bad fail-safe", Env: map[string]string{"FAIL_SAFE": "panic"}, WantErr: "FAIL_SAFE"},
		{Name: "not a duration", Env: map[string]string{"INTERVAL": "often"}, WantErr: "INTERVAL"},
		{Name: "zero interval", Env: map[string]string{"INTERVAL": "0s"}, WantErr: "INTERVAL"},
		{Name: "slo", Env: map[string]string{"STRATEGY": "slo"}, Check: func(t *testing.T, c Config) {
			p, s := c.Policy(), c.SourceConfig()
			if p.SLOLatency.String() != "250ms" || p.SLOTarget != 0.99 || p.SLOWindow.String() != "30s" || p.SLOMinRequests != 20 ||
				s.LatencyQuery != DefaultSLOQuery || s.Objective != 250 || s.LatencyWindow != p.SLOWindow ||
				!slices.Equal(c.SLOBuckets, source.IstioBuckets) {
				t.Fatalf("policy %+v, source %+v", p, s)
			}
		}},
		{Name: "slo with the gateway api", Env: map[string]string{"STRATEGY": "slo", "ROUTER": "gatewayapi"}, Check: func(t *testing.T, c Config) {
			if c.SourceConfig().LatencyQuery != DefaultSLOQueryGatewayAPI {
				t.Fatalf("query %q", c.SLOQuery)
			}
		}},
		{Name: "slo objective between buckets", Env: map[string]string{"STRATEGY": "slo", "SLO_LATENCY_MS": "200"},
			WantErr: "SLO_LATENCY_MS: 200 ms is not a bucket boundary of the latency histogram, so no request can be counted within it exactly; the nearest are 100 and 250"},
		{Name: "slo objective with own buckets", Env: map[string]string{"STRATEGY": "slo", "SLO_LATENCY_MS": "200", "SLO_BUCKETS": "100,200,400"}},
		{Name: "slo objective zero", Env: map[string]string{"STRATEGY": "slo", "SLO_LATENCY_MS": "0"}, WantErr: "SLO_LATENCY_MS must be positive"},
		{Name: "slo objective not a number", Env: map[string]string{"STRATEGY": "slo", "SLO_LATENCY_MS": "fast"}, WantErr: "SLO_LATENCY_MS"},
		{Name: "slo target a percentage", Env: map[string]string{"STRATEGY": "slo", "SLO_TARGET": "99"}, WantErr: "SLO_TARGET: must be above 0 and below 1 (0.99 is 99%), got 99"},
		{Name: "slo window under four scrapes", Env: map[string]string{"STRATEGY": "slo", "SLO_WINDOW": "6s"},
			WantErr: "SLO_WINDOW must hold at least four scrapes (4 × PROMETHEUS_SCRAPE_INTERVAL = 8s), got 6s"},
		{Name: "slo window zero", Env: map[string]string{"STRATEGY": "slo", "SLO_WINDOW": "0s"}, WantErr: "SLO_WINDOW: must be positive"},
		{Name: "slo min requests", Env: map[string]string{"STRATEGY": "slo", "SLO_MIN_REQUESTS": "0"}, WantErr: "SLO_MIN_REQUESTS: must be at least 1"},
		{Name: "slo negative probe", Env: map[string]string{"STRATEGY": "slo", "SLO_PROBE": "-1s"}, WantErr: "SLO_PROBE: must not be negative"},
		{Name: "slo scrape needs the histogram", Env: map[string]string{"STRATEGY": "slo", "SOURCE": "scrape", "SCRAPE_URL": "http://127.0.0.1:9/metrics",
			"SCRAPE_METRIC": "m_total"}, WantErr: "SLO_SCRAPE_METRIC and SCRAPE_DESTINATION_LABEL are required"},
		{Name: "slo scrape window", Env: map[string]string{"STRATEGY": "slo", "SOURCE": "scrape", "SCRAPE_URL": "http://127.0.0.1:9/metrics",
			"SCRAPE_METRIC": "m_total", "SCRAPE_DESTINATION_LABEL": "destination", "SLO_SCRAPE_METRIC": "h", "SLO_WINDOW": "3s"},
			WantErr: "SLO_WINDOW must hold at least four scrapes (4 × INTERVAL (each measurement scrapes) = 4s), got 3s"},
	})
}
