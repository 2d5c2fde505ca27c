package redisconn_test

import (
	"testing"

	"github.com/cloudburst-demo/cloudburst/pkg/redisconn"
)

func TestOptions(t *testing.T) {
	tests := []struct {
		in        string
		wantAddr  string
		wantDB    int
		wantPass  string
		wantTLS   bool
		wantProto int
		wantErr   bool
	}{
		{in: "redis:6379", wantAddr: "redis:6379"},
		{in: "127.0.0.1:6380", wantAddr: "127.0.0.1:6380"},
		{in: "[::1]:6379", wantAddr: "[::1]:6379"},
		{in: "redis", wantAddr: "redis:6379"},
		{in: " redis-service:6379 ", wantAddr: "redis-service:6379"},
		{in: "redis://redis:6379/2", wantAddr: "redis:6379", wantDB: 2},
		{in: "redis://:s3cret@redis:6379", wantAddr: "redis:6379", wantPass: "s3cret"},
		{in: "rediss://redis.example:6380", wantAddr: "redis.example:6380", wantTLS: true},
		{in: "redis://redis:6379?protocol=3", wantAddr: "redis:6379", wantProto: 3},
		{in: "", wantErr: true},
		{in: ":6379", wantErr: true},
		{in: "http://redis:6379", wantErr: true},
		{in: "redis://redis:6379/notadb", wantErr: true},
		{in: "a:b:c", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			opt, err := redisconn.Options(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Options(%q) = %+v, want an error", tt.in, opt.Addr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Options(%q): %v", tt.in, err)
			}
			if opt.Addr != tt.wantAddr || opt.DB != tt.wantDB || opt.Password != tt.wantPass || (opt.TLSConfig != nil) != tt.wantTLS {
				t.Fatalf("Options(%q) = addr %q db %d pass %q tls %v", tt.in, opt.Addr, opt.DB, opt.Password, opt.TLSConfig != nil)
			}
			if opt.DialTimeout == 0 || opt.ReadTimeout == 0 || !opt.ContextTimeoutEnabled {
				t.Fatal("timeouts not set")
			}
			wantProto := 2 // RESP2 unless asked for
			if tt.wantProto != 0 {
				wantProto = tt.wantProto
			}
			if opt.Protocol != wantProto {
				t.Fatalf("protocol %d, want %d", opt.Protocol, wantProto)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := map[string]string{
		"redis://:s3cret@redis:6379/0":   "redis://:xxxxx@redis:6379/0",
		"redis://user:s3cret@redis:6379": "redis://user:xxxxx@redis:6379",
		"redis:6379":                     "redis:6379",
		"not a url://":                   "not a url://",
	}
	for in, want := range tests {
		if got := redisconn.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
