package telemetry

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"

	"github.com/klaxonhq/klaxon"
)

// End ends span, marking it failed when err is not nil. The error's text
// is not recorded: it may hold what a span must not (a provider's error
// names the recipient's address, a routing error an alert's labels).
// The span says the error's kind instead, as error.type: conflict,
// not_found, invalid, unavailable, canceled, or other.
func End(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.SetAttributes(attribute.String("error.type", errorType(err)))
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

func errorType(err error) string {
	switch {
	case errors.Is(err, klaxon.ErrConflict):
		return "conflict"
	case errors.Is(err, klaxon.ErrNotFound):
		return "not_found"
	case errors.Is(err, klaxon.ErrInvalid):
		return "invalid"
	case errors.Is(err, klaxon.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "other"
}

// ChildOnly is tp for instrumentation that should trace work done for a
// traced caller and nothing else: a span is started only within
// another. (A Redis client's own polls and renewals would otherwise be a
// trace each, every second.)
func ChildOnly(tp trace.TracerProvider) trace.TracerProvider { return childOnly{tp: tp} }

type childOnly struct {
	embedded.TracerProvider
	tp trace.TracerProvider
}

func (c childOnly) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return childOnlyTracer{t: c.tp.Tracer(name, opts...)}
}

type childOnlyTracer struct {
	embedded.Tracer
	t trace.Tracer
}

func (c childOnlyTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, trace.SpanFromContext(ctx)
	}
	return c.t.Start(ctx, name, opts...)
}
