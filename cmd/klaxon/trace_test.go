package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/klaxontest"
	"github.com/klaxonhq/klaxon/internal/otlptest"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/internal/syncbuf"
	"github.com/klaxonhq/klaxon/telemetry"
)

// traceID is the sender's trace in the traceparent the tests send.
const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

// tracedServe runs Klaxon with config and tracing on, exporting to a
// receiver it returns, with the tracing, the base URL, and what stops
// Klaxon.
func tracedServe(t *testing.T, config string) (*otlptest.Receiver, *telemetry.Tracing, string, func()) {
	t.Helper()
	recv := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
	tr, err := telemetry.Setup(t.Context(), telemetry.Options{Version: "test", Replica: "r1"})
	require.NoError(t, err)
	require.True(t, tr.Enabled())
	o, _, err := serveOptions([]string{"--config", config}, nil)
	require.NoError(t, err)
	o.Log, o.Tracing = slog.New(telemetry.LogHandler(slog.NewTextHandler(&syncbuf.Buffer{}, nil))), tr
	a, stop := klaxontest.Serve(t, o)
	return recv, tr, "http://" + a.Addrs()[0], stop
}

// postTraced posts the firing-two-alerts fixture with a traceparent of
// trace id.
func postTraced(t *testing.T, base, id string) {
	t.Helper()
	body, err := readTestdata("firing-two-alerts.json")
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, base+"/v1/ingest/alertmanager", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+amToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+id+"-00f067aa0ba902b7-01")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusOK, res.StatusCode)
}

// TestTraceOnRedis: on Redis, the commit's commands are spans of the
// delivery's trace (redisotel), with no command's arguments.
func TestTraceOnRedis(t *testing.T) {
	redis := redistest.Start(t)
	config := writeConfig(t, 1e9)
	useRedis(t, config, redis.Addr())
	recv, tr, base, stop := tracedServe(t, config)
	postTraced(t, base, traceID)
	stop()
	require.NoError(t, tr.Shutdown(t.Context()))
	var commit string
	for _, s := range recv.Spans() {
		if s.Name == "ingest.commit" && s.TraceID == traceID {
			commit = s.SpanID
		}
	}
	require.NotEmpty(t, commit)
	var commands []string
	for _, s := range recv.Spans() {
		if s.TraceID == traceID && s.Attributes["db.system"] == "redis" {
			commands = append(commands, s.Name)
			require.Empty(t, s.Attributes["db.statement"], "no arguments: keys hold user IDs and alert keys")
		}
	}
	require.NotEmpty(t, commands, "the commit's Redis commands are in the delivery's trace: %v", recv.Spans())
}

// TestTraceOfADelivery: with OTEL_EXPORTER_OTLP_ENDPOINT set, a webhook
// delivery is one trace, continuing the sender's traceparent: the HTTP
// request, the routing of its alerts and their commit, exported over
// OTLP/HTTP; the incident's first page is a span of its own, linked to
// that trace; no token is in any span. (No phone number either:
// TestTraceOfAnSMSAck, which pages by SMS.)
func TestTraceOfADelivery(t *testing.T) {
	recv, tr, base, stop := tracedServe(t, writeConfig(t, 1e9))
	postTraced(t, base, traceID)

	// Step one pages alice at once: the page's span links to this trace.
	id := findIncident(t, base, "HighErrorRate").ID
	waitFor(t, "alice is paged", func() bool { return len(pagesSent(getIncident(t, base, id))) == 1 })
	code, out := post(t, base+"/v1/incidents/"+id+"/ack", apiToken, "application/json", []byte(`{"by":"alice"}`))
	require.Equal(t, http.StatusOK, code, out)

	// The histograms' exemplars lead to the traces (OpenMetrics).
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	metrics, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Regexp(t, `klaxon_ingest_request_seconds_bucket\{.*\} 1 # \{trace_id="`+traceID+`"\}`, string(metrics))
	require.Regexp(t, `klaxon_ingest_commit_seconds_bucket\{[^}]*\} 1 # \{trace_id="`+traceID+`"\}`, string(metrics))
	require.Regexp(t, `klaxon_first_page_seconds_bucket\{[^}]*\} 1 # \{trace_id="`+traceID+`"\}`, string(metrics), "the first page leads to the delivery that opened the incident")

	stop()
	require.NoError(t, tr.Shutdown(t.Context()), "the spans are flushed")
	byName := map[string]otlptest.Span{}
	for _, s := range recv.Spans() {
		byName[s.Name] = s
		require.NotContains(t, s.Text(), amToken, "span %s", s.Name)
	}
	server, ok := byName["POST /v1/ingest/{source}"]
	require.True(t, ok, "the request's span, named for its route: %v", recv.Spans())
	require.Equal(t, "/v1/ingest/alertmanager", server.Attributes["url.path"])
	require.Equal(t, traceID, server.TraceID, "the sender's trace goes on")
	require.Equal(t, "klaxon", server.Resource["service.name"])
	require.Equal(t, "test", server.Resource["service.version"])
	require.Equal(t, "r1", server.Resource["service.instance.id"])
	accept := byName["ingest.accept"]
	require.Equal(t, server.SpanID, accept.Parent)
	require.Equal(t, "2", accept.Attributes["klaxon.alerts"])
	require.Equal(t, accept.SpanID, byName["ingest.route"].Parent)
	require.Equal(t, server.SpanID, byName["ingest.decode"].Parent)
	commit := byName["ingest.commit"]
	require.Equal(t, traceID, commit.TraceID, "a commit of one delivery is in its trace")
	require.Equal(t, accept.SpanID, commit.Parent)
	require.False(t, commit.Error)
	require.Equal(t, commit.SpanID, byName["incident.apply"].Parent, "Apply, within the commit")

	var batch bool
	for _, s := range recv.Spans() {
		if s.Name == "embedded.batch" && len(s.Links) > 0 && s.Links[0] == traceID {
			batch = true
		}
	}
	require.True(t, batch, "the store's batch that made the commit durable links to the delivery's trace")

	step, ok := byName["escalate.step"]
	require.True(t, ok, "the step's span")
	require.NotEqual(t, traceID, step.TraceID, "a trace of its own: the escalation outlives the request")
	require.Equal(t, []string{traceID}, step.Links, "linked to the trace that opened the incident")
	require.Equal(t, "0", step.Attributes["klaxon.step"])
	page, ok := byName["escalate.page"]
	require.True(t, ok, "the page's span")
	require.Equal(t, step.SpanID, page.Parent, "the step's page")
	require.Equal(t, []string{traceID}, page.Links, "linked to the trace that opened the incident")
	require.Equal(t, id, page.Attributes["klaxon.incident"])
	require.Equal(t, "alice", page.Attributes["klaxon.user"])
	require.Equal(t, "sms", page.Attributes["klaxon.via"])
	ack, ok := byName["escalate.acknowledge"]
	require.True(t, ok, "the acknowledgement's span")
	require.Equal(t, byName["POST /v1/incidents/{id}/{command}"].SpanID, ack.Parent, "in the trace of the request that asked for it")
	require.Equal(t, []string{traceID}, ack.Links, "linked to the trace that opened the incident")
	require.Equal(t, "alice", ack.Attributes["klaxon.by"])

}
