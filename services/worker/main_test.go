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
			if c.Port != 8080 || c.RedisURL != "redis:6379" || c.RedisChannel != hashmsg.DefaultChannel || c.Prefix != "" || c.MaxBodyBytes != 65536 {
				t.Fatalf("defaults = %+v", c)
			}
		}},
		{Name: "burst cluster", Env: map[string]string{"PREFIX": "bursty-", "REDIS_URL": "redis://redis:6379", "PORT": "9000"}, Check: func(t *testing.T, c config) {
			if c.Prefix != "bursty-" || c.RedisURL != "redis://redis:6379" || c.Port != 9000 {
				t.Fatalf("config = %+v", c)
			}
		}},
		{Name: "port not a number", Env: map[string]string{"PORT": "http"}, WantErr: "PORT"},
		{Name: "port out of range", Env: map[string]string{"PORT": "70000"}, WantErr: "not a TCP port"},
		{Name: "empty channel", Env: map[string]string{"REDIS_CHANNEL": ""}, WantErr: "REDIS_CHANNEL"},
		{Name: "zero body limit", Env: map[string]string{"MAX_BODY_BYTES": "0"}, WantErr: "MAX_BODY_BYTES"},
		{Name: "bad timeout", Env: map[string]string{"PUBLISH_TIMEOUT": "soon"}, WantErr: "PUBLISH_TIMEOUT"},
		{Name: "prefix with newline", Env: map[string]string{"PREFIX": "a\nb"}, WantErr: "PREFIX"},
	})
}
