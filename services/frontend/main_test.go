package main

import (
	"strings"
	"testing"

	"github.com/kelseyhightower/envconfig"

	"github.com/cloudburst-demo/cloudburst/pkg/hashmsg"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c config)
	}{
		{name: "defaults", check: func(t *testing.T, c config) {
			if c.Port != 8080 || c.ProcessorURL != "http://worker:8080/" || c.RedisURL != "redis:6379" ||
				c.RedisChannel != hashmsg.DefaultChannel || c.MaxRPS != 100 || c.InitialRPS != 0 {
				t.Fatalf("defaults = %+v", c)
			}
		}},
		{name: "local", env: map[string]string{"PROCESSOR_URL": "http://127.0.0.1:8081/", "REDIS_URL": "127.0.0.1:6379", "MAX_RPS": "10000", "INITIAL_RPS": "20"}, check: func(t *testing.T, c config) {
			if c.MaxRPS != 10000 || c.InitialRPS != 20 {
				t.Fatalf("config = %+v", c)
			}
		}},
		{name: "processor not a URL", env: map[string]string{"PROCESSOR_URL": "worker:8080"}, wantErr: "PROCESSOR_URL"},
		{name: "processor without host", env: map[string]string{"PROCESSOR_URL": "http:///"}, wantErr: "PROCESSOR_URL"},
		{name: "zero max rate", env: map[string]string{"MAX_RPS": "0"}, wantErr: "MAX_RPS"},
		{name: "initial above max", env: map[string]string{"INITIAL_RPS": "101"}, wantErr: "INITIAL_RPS"},
		{name: "negative initial", env: map[string]string{"INITIAL_RPS": "-1"}, wantErr: "INITIAL_RPS"},
		{name: "no in-flight", env: map[string]string{"MAX_IN_FLIGHT": "0"}, wantErr: "MAX_IN_FLIGHT"},
		{name: "bad timeout", env: map[string]string{"REQUEST_TIMEOUT": "0s"}, wantErr: "REQUEST_TIMEOUT"},
		{name: "rate not a number", env: map[string]string{"MAX_RPS": "lots"}, wantErr: "MAX_RPS"},
		{name: "burster", env: map[string]string{"BURSTER_URL": "http://burster:8080"}, check: func(t *testing.T, c config) {
			if c.BursterURL != "http://burster:8080" {
				t.Fatalf("config = %+v", c)
			}
		}},
		{name: "burster not a URL", env: map[string]string{"BURSTER_URL": "burster:8080"}, wantErr: "BURSTER_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var c config
			err := envconfig.Process("", &c)
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
			tt.check(t, c)
		})
	}
}
