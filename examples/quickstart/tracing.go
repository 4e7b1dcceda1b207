package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// setupTracing exports over OTLP/HTTP when the standard OTEL_EXPORTER_OTLP_*
// variables name an endpoint, and to a JSON file otherwise. It reports where
// the spans go.
func setupTracing(ctx context.Context, getenv func(string) string, outDir string) (*sdktrace.TracerProvider, string, error) {
	res := resource.NewSchemaless(attribute.String("service.name", "ztagent-quickstart"))
	if ep := firstSet(getenv, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"); ep != "" {
		exp, err := otlptracehttp.New(ctx) // reads the OTEL_EXPORTER_OTLP_* variables itself
		if err != nil {
			return nil, "", fmt.Errorf("OTLP exporter: %w", err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		return tp, "OTLP/HTTP to " + ep + " (service ztagent-quickstart)", nil
	}
	path := filepath.Join(outDir, "ztagent-quickstart-spans.json")
	f, err := os.Create(path)
	if err != nil {
		return nil, "", err
	}
	exp, err := stdouttrace.New(stdouttrace.WithWriter(f), stdouttrace.WithPrettyPrint())
	if err != nil {
		f.Close()
		return nil, "", err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(&closingExporter{exp, f}), sdktrace.WithResource(res))
	return tp, path + " (set OTEL_EXPORTER_OTLP_ENDPOINT to send them to Jaeger or Tempo)", nil
}

// closingExporter closes the span file when the provider shuts down.
type closingExporter struct {
	*stdouttrace.Exporter
	f *os.File
}

func (e *closingExporter) Shutdown(ctx context.Context) error {
	err := e.Exporter.Shutdown(ctx)
	if cerr := e.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func firstSet(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}
