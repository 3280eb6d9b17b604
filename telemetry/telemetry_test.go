package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/klaxonhq/klaxon"
)

// TestOffWithoutEndpoint: with no OTLP endpoint in the environment,
// tracing is off and its spans record nothing.
func TestOffWithoutEndpoint(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tr, err := Setup(t.Context(), Options{})
	require.NoError(t, err)
	require.False(t, tr.Enabled())
	_, span := tr.Provider.Tracer("t").Start(t.Context(), "s")
	require.False(t, span.IsRecording())
	require.NoError(t, tr.Shutdown(t.Context()))
}

// TestProtocolRefused: a protocol other than http/protobuf is an error
// that says so, not traces sent nowhere.
func TestProtocolRefused(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	_, err := Setup(t.Context(), Options{})
	require.ErrorContains(t, err, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: Klaxon exports traces over http/protobuf only")
}

// TestRedactor: the token of a mail link's path is masked in the span;
// other paths are kept.
func TestRedactor(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(redactor{}), sdktrace.WithSpanProcessor(rec))
	for _, path := range []string{"/v1/ack/eyJzZWNyZXQiOiJ0b2tlbiJ9.c2lnbmF0dXJl", "/v1/incidents/42"} {
		_, span := tp.Tracer("t").Start(context.Background(), "GET", trace.WithAttributes(semconv.URLPath(path)))
		span.End()
	}
	var got []string
	for _, s := range rec.Ended() {
		for _, kv := range s.Attributes() {
			if kv.Key == semconv.URLPathKey {
				got = append(got, kv.Value.AsString())
			}
		}
	}
	require.Equal(t, []string{"/v1/ack/{token}", "/v1/incidents/42"}, got)
}

// TestLogHandler: a line logged inside a span carries its trace and span
// IDs; one logged outside none.
func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewTextHandler(&buf, nil))).With("component", "test")
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "s")
	log.InfoContext(ctx, "inside")
	span.End()
	log.Info("outside")
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	require.Len(t, lines, 2)
	sc := span.SpanContext()
	require.Contains(t, string(lines[0]), "trace_id="+sc.TraceID().String()+" span_id="+sc.SpanID().String())
	require.Contains(t, string(lines[0]), "component=test")
	require.NotContains(t, string(lines[1]), "trace_id")
}

// TestTraceparent: a span context kept as a traceparent gives a link to
// the same span; nothing gives no link.
func TestTraceparent(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	_, span := tp.Tracer("t").Start(context.Background(), "s")
	sc := span.SpanContext()
	tp0 := Traceparent(sc)
	require.Equal(t, "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-01", tp0)
	link, ok := LinkTo(tp0)
	require.True(t, ok)
	require.Equal(t, sc.TraceID(), link.SpanContext.TraceID())
	require.Equal(t, sc.SpanID(), link.SpanContext.SpanID())
	require.Empty(t, Traceparent(trace.SpanContext{}))
	for _, bad := range []string{"", "00-zz-yy-01"} {
		_, ok := LinkTo(bad)
		require.False(t, ok, bad)
	}
}

// TestStoreErrors: a store's failure is counted by component; a refusal
// (a lost race, not found, invalid) and a cancelled request are not.
func TestStoreErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	// Before any failure, both series are served at 0.
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP klaxon_store_errors_total Store operations that failed (the store unreachable or unable to write; not a refusal such as a lost race), by component: ingest or engine.
# TYPE klaxon_store_errors_total counter
klaxon_store_errors_total{component="engine"} 0
klaxon_store_errors_total{component="ingest"} 0
`), "klaxon_store_errors_total"))
	for _, err := range []error{
		nil, klaxon.ErrConflict, fmt.Errorf("commit: %w", klaxon.ErrNotFound), klaxon.ErrInvalid, context.Canceled,
		fmt.Errorf("write the file: %w", klaxon.ErrUnavailable), errors.New("connection refused"),
	} {
		m.StoreError("ingest", err)
	}
	m.StoreError("engine", klaxon.ErrUnavailable)
	require.Equal(t, 2.0, testutil.ToFloat64(m.storeErrors.WithLabelValues("ingest")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.storeErrors.WithLabelValues("engine")))
	var nilMetrics *Metrics
	nilMetrics.StoreError("ingest", klaxon.ErrUnavailable) // counts nothing, and does not fail
}

// TestEnd: a failed span says the error's kind, never its text, which may
// name a person's address.
func TestEnd(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	for _, err := range []error{nil, fmt.Errorf("send mail to alice@example.com: %w", klaxon.ErrUnavailable), errors.New("rcpt alice@example.com refused")} {
		_, span := tp.Tracer("t").Start(context.Background(), "s")
		End(span, err)
	}
	ended := rec.Ended()
	require.Len(t, ended, 3)
	require.Empty(t, ended[0].Attributes(), "no error, no error.type")
	for i, want := range []string{"unavailable", "other"} {
		s := ended[i+1]
		require.Equal(t, "Error", s.Status().Code.String())
		require.Empty(t, s.Status().Description)
		require.Empty(t, s.Events(), "no exception event")
		require.Equal(t, []attribute.KeyValue{attribute.String("error.type", want)}, s.Attributes())
	}
}

// TestChildOnly: a span is started within another, and not at the root.
func TestChildOnly(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	child := ChildOnly(tp).Tracer("t")
	_, root := child.Start(context.Background(), "alone")
	require.False(t, root.IsRecording(), "no parent: no span")
	root.End()
	ctx, parent := tp.Tracer("t").Start(context.Background(), "caller")
	_, span := child.Start(ctx, "command")
	require.True(t, span.IsRecording())
	span.End()
	parent.End()
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
	}
	require.Equal(t, []string{"command", "caller"}, names)
}
