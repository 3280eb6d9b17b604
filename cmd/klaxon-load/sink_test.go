package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/klaxonhq/klaxon/internal/syncbuf"
)

// TestSink: an OpenTelemetry exporter pointed at the sink exports its
// spans without error, and the sink counts what it took.
func TestSink(t *testing.T) {
	out := &syncbuf.Buffer{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runSink(ctx, nil, out, &bytes.Buffer{}) }()
	var url string
	require.Eventually(t, func() bool {
		m := regexp.MustCompile(`sink listening on (\S+)`).FindStringSubmatch(out.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}, 10*time.Second, 10*time.Millisecond)

	exp, err := otlptracehttp.New(t.Context(), otlptracehttp.WithEndpointURL(url+"/v1/traces"))
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	_, span := tp.Tracer("t").Start(t.Context(), "s")
	span.End()
	require.NoError(t, tp.Shutdown(t.Context()), "the sink answers as a receiver does")

	cancel()
	require.NoError(t, <-done)
	require.True(t, strings.Contains(out.String(), "sink took 1 requests"), out.String())
}
