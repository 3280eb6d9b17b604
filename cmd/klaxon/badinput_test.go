package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/api"
)

// TestBadInput sends what a broken or hostile sender might: each answer
// has the status of the HTTP contract and a JSON error saying what was
// wrong, and nothing accepted before is lost.
func TestBadInput(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	postFixture(t, base, "firing-two-alerts.json")
	good := mustRead(t, "firing-one-alert.json")
	webhook := base + "/v1/ingest/alertmanager"

	cases := []struct {
		name, url, token, contentType string
		body                          []byte
		code                          int
		error, field                  string
	}{
		{"malformed JSON", webhook, amToken, "application/json", []byte(`{"alerts": [`), 400, "unexpected end of JSON input", ""},
		{"wrong type of a field", webhook, amToken, "application/json", []byte(`{"version":"4","alerts":{}}`), 400, "", "alerts"},
		{"no alerts", webhook, amToken, "application/json", []byte(`{"version":"4","status":"firing","alerts":[]}`), 400, "no alerts", "alerts"},
		{"bad alert status", webhook, amToken, "application/json", bytes.Replace(good, []byte(`"status":"firing","labels"`), []byte(`"status":"fring","labels"`), 1), 400, "fring", "alerts[0].status"},
		{"missing token", webhook, "", "application/json", good, 401, "bearer token", ""},
		{"wrong token", webhook, "not-the-token", "application/json", good, 401, "bearer token", ""},
		{"an API token is no integration token", webhook, apiToken, "application/json", good, 401, "bearer token", ""},
		{"wrong content type", webhook, amToken, "text/plain", good, 400, "Content-Type must be application/json", ""},
		{"no content type", webhook, amToken, "", good, 400, "Content-Type must be application/json", ""},
		{"body over 1 MiB", base + "/v1/ingest/generic", genericToken, "application/json", []byte(`{"summary":"` + strings.Repeat("s", 1<<20) + `"}`), 413, "body larger than 1048576 bytes", ""},
		{"Alertmanager's body over 32 MiB", webhook, amToken, "application/json", []byte(`{"alerts":[` + strings.Repeat(" ", 32<<20) + `]}`), 413, "body larger than 33554432 bytes", ""},
		{"a 40 KB dedup_key", base + "/v1/ingest/generic", genericToken, "application/json",
			[]byte(`{"dedup_key":"` + strings.Repeat("k", 40<<10) + `","summary":"s"}`), 400, "at most 1024", "key"},
		{"unknown path", base + "/v1/ingest/nagios", amToken, "application/json", good, 404, "no such endpoint", ""},
		{"unknown API path", base + "/v1/nothing", apiToken, "application/json", good, 404, "no such endpoint", ""},
		{"command on an unknown incident", base + "/v1/incidents/999/ack", apiToken, "", nil, 404, "999", ""},
		{"unknown command", base + "/v1/incidents/1/explode", apiToken, "", nil, 404, "no such command", ""},
		{"command without token", base + "/v1/incidents/1/ack", "", "", nil, 401, "API token", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := post(t, c.url, c.token, c.contentType, c.body)
			require.Equal(t, c.code, code, "%v", out)
			require.Contains(t, out["error"], c.error)
			if c.field != "" {
				require.Equal(t, c.field, out["field"])
			}
		})
	}

	t.Run("a wrong method or query is refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/incidents?state=bogus", nil)
		req.Header.Set("Authorization", "Bearer "+apiToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})

	t.Run("an over-long title is cut and marked, not refused", func(t *testing.T) {
		body := bytes.Replace(mustRead(t, "datadog-triggered.json"), []byte(`"title": "`), []byte(`"title": "`+strings.Repeat("x", 100<<10)), 1)
		code, out := post(t, base+"/v1/ingest/datadog", ddToken, "application/json", body)
		require.Equal(t, http.StatusOK, code, "%v", out)
		var got *api.IncidentView
		for _, l := range listIncidents(t, base, "all") {
			if inc := getIncident(t, base, l.ID); len(inc.Alerts) > 0 && inc.Alerts[0].Integration == "datadog" {
				got = inc
			}
		}
		require.NotNil(t, got)
		require.True(t, strings.HasSuffix(got.Alerts[0].Summary, "… [truncated]"))
		require.LessOrEqual(t, len(got.Alerts[0].Summary), 16<<10)
	})

	t.Run("nothing accepted before is lost", func(t *testing.T) {
		inc := findIncident(t, base, "HighErrorRate")
		require.Len(t, inc.Alerts, 2)
		require.Len(t, listIncidents(t, base, "all"), 2, "no refused body left anything behind: the first incident and the Datadog one")
	})
}
