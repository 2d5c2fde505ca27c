// Package telemetry sets up logging and tracing the same way in every service:
// JSON logs through log/slog, and OpenTelemetry traces exported over OTLP only
// when an endpoint is configured.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// NewLogger returns a JSON logger that tags every record with the service name.
// level is one of debug, info, warn, error (case-insensitive).
func NewLogger(w io.Writer, service, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("parsing log level %q: %w", level, err)
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})
	return slog.New(h).With("service", service), nil
}

// ShutdownFunc flushes and stops what Setup started.
type ShutdownFunc func(context.Context) error

// TracingEnabled reports whether the standard OpenTelemetry environment names
// an OTLP endpoint for traces.
func TracingEnabled() bool {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		if strings.TrimSpace(os.Getenv(k)) != "" {
			return true
		}
	}
	return os.Getenv("OTEL_TRACES_EXPORTER") == "otlp"
}

// SetupTracing installs the W3C trace-context propagator, so trace headers
// always pass through, and, when TracingEnabled, a tracer provider exporting
// over OTLP/HTTP as configured by the standard OTEL_* variables. Without an
// endpoint no spans are recorded and nothing is sent anywhere.
func SetupTracing(ctx context.Context, service string) (ShutdownFunc, error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{}))
	if !TracingEnabled() {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating OTLP trace exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(),
		resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service)))
	if err != nil && !errors.Is(err, resource.ErrSchemaURLConflict) {
		return nil, fmt.Errorf("building trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// flushTimeout bounds how long an exiting service waits for the exporter.
const flushTimeout = 5 * time.Second

// Flush runs shutdown with a bounded timeout and logs a failure; it is meant
// to be deferred right after SetupTracing.
func Flush(log *slog.Logger, shutdown ShutdownFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		log.Warn("flushing traces", "err", err)
	}
}
