package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRefusedRequestsCounted: a webhook Klaxon refuses is counted by the
// integration that sent it (when its token named one) and why, so that an
// SRE can alert on "Alertmanager's webhooks are refused" before its
// alerts are lost. The labels are bounded: a sender's path or token never
// becomes one.
func TestRefusedRequestsCounted(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	_, m := getText(t, base+"/metrics")
	require.True(t, strings.Contains(m, `klaxon_ingest_refused_total{integration="",reason="unauthorized"} 0`),
		"the series a rule watches exist before the first refusal")

	code, _ := post(t, base+"/v1/ingest/alertmanager", "guessed-token", "application/json", []byte(`{}`))
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = post(t, base+"/v1/ingest/alertmanager", amToken, "application/json", []byte(`{"alerts": 3}`))
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = post(t, base+"/v1/ingest/alertmanager", amToken, "text/plain", []byte(`{}`))
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = post(t, base+"/v1/ingest/datadog", ddToken, "application/json", []byte(`not json`))
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = post(t, base+"/v1/ingest/sender-made-up-"+time.Now().Format("150405.000"), amToken, "application/json", []byte(`{}`))
	require.Equal(t, http.StatusNotFound, code)
	code, _ = post(t, base+"/v2/enqueue", "", "application/json", []byte(`{"routing_key":"nope","event_action":"trigger","payload":{"summary":"s","source":"x","severity":"critical"}}`))
	require.Equal(t, http.StatusBadRequest, code)

	_, m = getText(t, base+"/metrics")
	require.Equal(t, 1.0, metric(t, m, `klaxon_ingest_refused_total{integration="",reason="unauthorized"}`))
	require.Equal(t, 2.0, metric(t, m, `klaxon_ingest_refused_total{integration="prometheus",reason="invalid"}`))
	require.Equal(t, 1.0, metric(t, m, `klaxon_ingest_refused_total{integration="datadog",reason="invalid"}`))
	require.Equal(t, 1.0, metric(t, m, `klaxon_ingest_refused_total{integration="",reason="not_found"}`))
	require.Equal(t, 1.0, metric(t, m, `klaxon_ingest_refused_total{integration="",reason="invalid"}`), "an unknown routing key: PagerDuty's 400")
	require.False(t, strings.Contains(m, "sender-made-up"), "a sender's path is no label")
	require.False(t, strings.Contains(m, "guessed-token"), "nor its token")
}
