package main

import (
	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
	"testing"

	"github.com/cloudburst-demo/cloudburst/testkit/configtest"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
)

func TestConfig(t *testing.T) {
	configtest.Run(t, envconf.Load[config], []configtest.Case[config]{
		{Name: "defaults", Check: func(t *testing.T, c config) {
			if c.Port != 8080 || c.ProcessorURL != "http://worker:8080/" || c.RedisURL != "redis:6379" ||
				c.RedisChannel != hashmsg.DefaultChannel || c.MaxRPS != 100 || c.InitialRPS != 0 {
				t.Fatalf("defaults = %+v", c)
			}
		}},
		{Name: "local", Env: map[string]string{"PROCESSOR_URL": "http://127.0.0.1:8081/", "REDIS_URL": "127.0.0.1:6379", "MAX_RPS": "10000", "INITIAL_RPS": "20"}, Check: func(t *testing.T, c config) {
			if c.MaxRPS != 10000 || c.InitialRPS != 20 {
				t.Fatalf("config = %+v", c)
			}
		}},
		{Name: "processor not a URL", Env: map[string]string{"PROCESSOR_URL": "worker:8080"}, WantErr: "PROCESSOR_URL"},
		{Name: "processor without host", Env: map[string]string{"PROCESSOR_URL": "http:///"}, WantErr: "PROCESSOR_URL"},
		{Name: "zero max rate", Env: map[string]string{"MAX_RPS": "0"}, WantErr: "MAX_RPS"},
		{Name: "initial above max", Env: map[string]string{"INITIAL_RPS": "101"}, WantErr: "INITIAL_RPS"},
		{Name: "negative initial", Env: map[string]string{"INITIAL_RPS": "-1"}, WantErr: "INITIAL_RPS"},
		{Name: "no in-flight", Env: map[string]string{"MAX_IN_FLIGHT": "0"}, WantErr: "MAX_IN_FLIGHT"},
		{Name: "bad timeout", Env: map[string]string{"REQUEST_TIMEOUT": "0s"}, WantErr: "REQUEST_TIMEOUT"},
		{Name: "rate not a number", Env: map[string]string{"MAX_RPS": "lots"}, WantErr: "MAX_RPS"},
		{Name: "burster", Env: map[string]string{"BURSTER_URL": "http://burster:8080"}, Check: func(t *testing.T, c config) {
			if c.BursterURL != "http://burster:8080" {
				t.Fatalf("config = %+v", c)
			}
		}},
		{Name: "burster not a URL", Env: map[string]string{"BURSTER_URL": "burster:8080"}, WantErr: "BURSTER_URL"},
	})
}
