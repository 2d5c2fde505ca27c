package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/cloudburst-demo/cloudburst/pkg/telemetry"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		level   string
		wantErr bool
		debugOn bool
	}{
		{level: "info"},
		{level: "DEBUG", debugOn: true},
		{level: "warn"},
		{level: "loud", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := telemetry.NewLogger(&buf, "worker", tt.level)
			if tt.wantErr {
				if err == nil {
					t.Fatal("want an error for an unknown level")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("d")
			if got := buf.Len() > 0; got != tt.debugOn {
				t.Fatalf("debug record written = %v, want %v", got, tt.debugOn)
			}
			buf.Reset()
			log.Error("boom", "k", 1)
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("log line is not JSON: %q", buf.String())
			}
			if rec["service"] != "worker" || rec["msg"] != "boom" {
				t.Fatalf("record = %v", rec)
			}
		})
	}
}

func TestSetupTracingWithoutEndpointIsNoop(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	if telemetry.TracingEnabled() {
		t.Fatal("tracing enabled without an endpoint")
	}
	shutdown, err := telemetry.SetupTracing(context.Background(), "worker")
	if err != nil {
		t.Fatal(err)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
