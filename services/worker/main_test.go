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
			if c.Port != 8080 || c.RedisURL != "redis:6379" || c.RedisChannel != hashmsg.DefaultChannel || c.Prefix != "" || c.MaxBodyBytes != 65536 {
				t.Fatalf("defaults = %+v", c)
			}
		}},
		{name: "burst cluster", env: map[string]string{"PREFIX": "bursty-", "REDIS_URL": "redis://redis:6379", "PORT": "9000"}, check: func(t *testing.T, c config) {
			if c.Prefix != "bursty-" || c.RedisURL != "redis://redis:6379" || c.Port != 9000 {
				t.Fatalf("config = %+v", c)
			}
		}},
		{name: "port not a number", env: map[string]string{"PORT": "http"}, wantErr: "PORT"},
		{name: "port out of range", env: map[string]string{"PORT": "70000"}, wantErr: "not a TCP port"},
		{name: "empty channel", env: map[string]string{"REDIS_CHANNEL": ""}, wantErr: "REDIS_CHANNEL"},
		{name: "zero body limit", env: map[string]string{"MAX_BODY_BYTES": "0"}, wantErr: "MAX_BODY_BYTES"},
		{name: "bad timeout", env: map[string]string{"PUBLISH_TIMEOUT": "soon"}, wantErr: "PUBLISH_TIMEOUT"},
		{name: "prefix with newline", env: map[string]string{"PREFIX": "a\nb"}, wantErr: "PREFIX"},
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
