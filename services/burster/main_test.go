package main

import (
	"strings"
	"testing"

	"github.com/kelseyhightower/envconfig"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c config)
	}{
		{name: "defaults are the codelab's", check: func(t *testing.T, c config) {
			if c.Strategy != "switch" || c.HighRPS != 15 || c.LowRPS != 10 || c.Interval.String() != "1s" ||
				c.VirtualService != "worker" || c.PrimarySubset != "primary" || c.BurstSubset != "burst" ||
				!c.LeaderElect || c.DryRun || c.Query != defaultQuery || c.FailSafe != "hold" {
				t.Fatalf("defaults = %+v", c)
			}
		}},
		{name: "spillover", env: map[string]string{"STRATEGY": "spillover", "CAPACITY_RPS": "40", "STEP": "10"}, check: func(t *testing.T, c config) {
			if c.Strategy != "spillover" || c.CapacityRPS != 40 || c.Step != 10 {
				t.Fatalf("config = %+v", c)
			}
		}},
		{name: "scrape", env: map[string]string{"SOURCE": "scrape", "SCRAPE_URL": "http://127.0.0.1:9/metrics", "SCRAPE_METRIC": "m_total"}},
		{name: "scrape without URL", env: map[string]string{"SOURCE": "scrape"}, wantErr: "SCRAPE_URL"},
		{name: "unknown source", env: map[string]string{"SOURCE": "vibes"}, wantErr: "SOURCE"},
		{name: "unknown router", env: map[string]string{"ROUTER": "nginx"}, wantErr: "ROUTER"},
		{name: "local mesh", env: map[string]string{"ROUTER": "localmesh", "MESH_ADMIN_URL": "http://127.0.0.1:8084", "LEADER_ELECT": "false"}},
		{name: "local mesh without URL", env: map[string]string{"ROUTER": "localmesh", "LEADER_ELECT": "false"}, wantErr: "MESH_ADMIN_URL"},
		{name: "local mesh cannot elect", env: map[string]string{"ROUTER": "localmesh", "MESH_ADMIN_URL": "http://127.0.0.1:8084"}, wantErr: "LEADER_ELECT=false"},
		{name: "low above high", env: map[string]string{"LOW_RPS": "20"}, wantErr: "LOW_RPS < HIGH_RPS"},
		{name: "same subsets", env: map[string]string{"BURST_SUBSET": "primary"}, wantErr: "BURST_SUBSET"},
		{name: "lease timings", env: map[string]string{"RENEW_DEADLINE": "20s"}, wantErr: "LEASE_DURATION > RENEW_DEADLINE"},
		{name: "lease timings ignored without election", env: map[string]string{"LEADER_ELECT": "false", "RENEW_DEADLINE": "20s"}},
		{name: "bad strategy", env: map[string]string{"STRATEGY": "yolo"}, wantErr: "STRATEGY"},
		{name: "bad fail-safe", env: map[string]string{"FAIL_SAFE": "panic"}, wantErr: "FAIL_SAFE"},
		{name: "not a duration", env: map[string]string{"INTERVAL": "often"}, wantErr: "INTERVAL"},
		{name: "zero interval", env: map[string]string{"INTERVAL": "0s"}, wantErr: "INTERVAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var c config
			err := envconfig.Process("", &c)
			if c.Query == "" {
				c.Query = defaultQuery
			}
			if err == nil {
				err = c.validate()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}
