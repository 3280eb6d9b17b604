package klaxontest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/klaxontest"
	"github.com/klaxonhq/klaxon/internal/otlptest"
	"github.com/klaxonhq/klaxon/telemetry"
)

// TestTraceOfAnSMSAck follows an alert to the phone and back, traced: the
// delivery's trace opens the incident; the SMS is a span linked to it,
// with Twilio's message SID and Twilio's REST call as its child; the SMS
// reply that acknowledges is a span linked to it too. No span attribute
// holds the phone number or a token, and a line logged while a request
// is served carries its trace ID.
func TestTraceOfAnSMSAck(t *testing.T) {
	recv := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
	tr, err := telemetry.Setup(t.Context(), telemetry.Options{Version: "test", Replica: "r1"})
	require.NoError(t, err)
	h := klaxontest.Start(t, twoSteps(false), klaxontest.WithTracing(tr))
	h.Alertmanager(firing(t))
	inc := h.OpenIncident("HighErrorRate")
	alice := h.Phone(alicePhone)
	sms := alice.ExpectSMS("#" + inc.ID)
	res := alice.Reply(inc.ID + "a")
	require.Equal(t, http.StatusOK, res.Status)
	require.Contains(t, res.Body, "Acknowledged #"+inc.ID)
	stranger := h.Phone("+15559999999").Reply(inc.ID + "a") // logged, within its request's span
	require.Contains(t, stranger.Body, "not a Klaxon user")

	// After the same flow, /metrics has every series of the flow (but
	// klaxon_first_page_seconds: on a clock that does not move, the first
	// page takes no time, which the engine does not observe).
	code, metrics := h.Do(http.MethodGet, "/metrics", nil)
	require.Equal(t, http.StatusOK, code)
	for _, series := range []string{
		`klaxon_ingest_alerts_total{integration="prometheus",status="firing"} 2`,
		`klaxon_ingest_alerts_deduplicated_total 0`,
		`klaxon_incidents_opened_total{policy="oncall"} 1`,
		`klaxon_incidents_acknowledged_total{policy="oncall"} 1`,
		`klaxon_pages_total{channel="sms",result="sent"} 1`,
		`klaxon_ingest_request_seconds_count{code="200",route="POST /v1/ingest/{source}"} 1`,
		`klaxon_ingest_commit_seconds_count 1`,
		`klaxon_time_to_acknowledge_seconds_count 1`,
		`klaxon_engine_claims_held `,
	} {
		require.Contains(t, string(metrics), series)
	}
	require.Regexp(t, `klaxon_escalation_lateness_seconds_count [1-9]`, string(metrics))
	h.Stop()
	require.NoError(t, tr.Shutdown(t.Context()))

	spans := recv.Spans()
	byName := map[string]otlptest.Span{}
	for _, s := range spans {
		byName[s.Name] = s
		for _, secret := range []string{alicePhone, klaxontest.AlertmanagerToken, h.Twilio.AuthToken} {
			require.NotContains(t, s.Text(), secret, "span %s", s.Name)
		}
	}
	ingest := byName["POST /v1/ingest/{source}"]
	require.NotEmpty(t, ingest.TraceID)
	page := byName["escalate.page"]
	require.Equal(t, []string{ingest.TraceID}, page.Links, "the page links to the delivery's trace")
	require.Equal(t, sms.SID, page.Attributes["klaxon.provider.id"], "with Twilio's message SID")
	var rest bool
	for _, s := range spans {
		if s.Parent == page.SpanID && s.Attributes["http.request.method"] == "POST" {
			rest = true
		}
	}
	require.True(t, rest, "Twilio's REST call is a child of the page: %v", spans)
	ack := byName["escalate.acknowledge"]
	parent := ""
	for _, s := range spans {
		if s.SpanID == ack.Parent {
			parent = s.Name
		}
	}
	require.Equal(t, "POST /v1/twilio/sms", parent, "in the trace of the SMS reply's request")
	require.Equal(t, []string{ingest.TraceID}, ack.Links)
	require.Equal(t, "alice", ack.Attributes["klaxon.by"])
	require.Equal(t, "sms", ack.Attributes["klaxon.how"])

	var line string
	for l := range strings.Lines(h.Logs()) {
		if strings.Contains(l, "sms from an unknown number") {
			line = l
		}
	}
	require.NotEmpty(t, line)
	var logged bool
	for _, s := range spans {
		if s.Name == "POST /v1/twilio/sms" && strings.Contains(line, "trace_id="+s.TraceID) {
			logged = true
		}
	}
	require.True(t, logged, "the log line carries its request's trace: %s", line)
}
