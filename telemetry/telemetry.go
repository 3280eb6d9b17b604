// Package telemetry sets up Klaxon's OpenTelemetry tracing: spans are
// exported over OTLP/HTTP when the standard OTEL_EXPORTER_OTLP_ENDPOINT
// (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, and the other standard
// OTEL_* variables apply (headers, sampler, resource attributes); with
// neither set, tracing is off and costs nothing but a no-op call.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ServiceName is Klaxon's service.name, unless OTEL_SERVICE_NAME says
// otherwise.
const ServiceName = "klaxon"

// Options are what Setup takes besides the environment.
type Options struct {
	// Version and Replica are the resource's service.version and
	// service.instance.id.
	Version, Replica string
}

// Tracing is the tracer provider Klaxon's components take, and what
// flushes it.
type Tracing struct {
	// Provider makes the tracers; a no-op one when tracing is off.
	Provider trace.TracerProvider
	// Propagator reads and writes trace context in HTTP headers.
	Propagator propagation.TextMapPropagator
	sdk        *sdktrace.TracerProvider
}

// Off is tracing turned off.
func Off() *Tracing {
	return &Tracing{Provider: noop.NewTracerProvider(), Propagator: propagation.TraceContext{}}
}

// Setup returns tracing as the environment asks for it: exported over
// OTLP/HTTP when an OTLP endpoint is set, off otherwise.
func Setup(ctx context.Context, o Options) (*Tracing, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return Off(), nil
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		if p := os.Getenv(v); p != "" && p != "http/protobuf" {
			return nil, fmt.Errorf("%s=%s: Klaxon exports traces over http/protobuf only", v, p)
		}
	}
	// The exporter reads the endpoint, headers, timeout and TLS settings
	// from the OTEL_EXPORTER_OTLP_* variables itself.
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over these.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(ServiceName), semconv.ServiceVersion(o.Version), semconv.ServiceInstanceID(o.Replica)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	// The sampler is OTEL_TRACES_SAMPLER's (default: parent-based, always
	// on), which the SDK reads itself.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(redactor{}), sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{Provider: tp, Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}), sdk: tp}, nil
}

// redactor masks, as a span starts, the attributes that would carry a
// secret: the signed token in the path of a mail link.
type redactor struct{}

func (redactor) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	for _, kv := range s.Attributes() {
		if kv.Key == semconv.URLPathKey {
			if p := kv.Value.AsString(); strings.HasPrefix(p, AckPathPrefix) {
				s.SetAttributes(semconv.URLPath(AckPathPrefix + "{token}"))
			}
		}
	}
}

func (redactor) OnEnd(sdktrace.ReadOnlySpan)      {}
func (redactor) Shutdown(context.Context) error   { return nil }
func (redactor) ForceFlush(context.Context) error { return nil }

// AckPathPrefix begins the path of a mail link, which a signed token
// ends.
const AckPathPrefix = "/v1/ack/"

// On is the provider when tracing is on, and nil when it is off: for the
// components that make no span at all without one.
func (t *Tracing) On() trace.TracerProvider {
	if t.sdk == nil {
		return nil
	}
	return t.sdk
}

// Enabled reports whether spans are exported.
func (t *Tracing) Enabled() bool { return t.sdk != nil }

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("flush traces: %w", err)
	}
	return nil
}
