package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// Tokens of the Grafana integrations grafanaConfig adds: grafana's
// alerts keep the severity they come with (Grafana's rules often have
// none), grafana-paging's get severity=critical when they have none.
const (
	grafanaToken       = "test-grafana-token"
	grafanaPagingToken = "test-grafana-paging-token"
)

// grafanaConfig is writeConfig's config with two integrations for Grafana
// Alerting's webhook contact point, which posts to the Alertmanager
// endpoint.
func grafanaConfig(t *testing.T) string {
	t.Helper()
	path := writeConfig(t, time.Hour)
	rewrite(t, path, "integrations:\n", `integrations:
  - {name: grafana, type: alertmanager, token: `+grafanaToken+`}
  - {name: grafana-paging, type: alertmanager, token: `+grafanaPagingToken+`, labels: {severity: critical}}
`)
	return path
}

// grafanaBody is a body of ingest/testdata/grafana, as Grafana sends it.
func grafanaBody(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "ingest", "testdata", "grafana", name))
	require.NoError(t, err)
	return b
}

// TestGrafanaContactPoint: what a webhook contact point of Grafana
// Alerting set up as the README says (the URL of the Alertmanager
// endpoint, the integration's token as the Authorization header's
// credentials, scheme Bearer, Grafana's default) makes of Klaxon.
func TestGrafanaContactPoint(t *testing.T) {
	base, served, _ := startServe(t, grafanaConfig(t))
	url := base + "/v1/ingest/alertmanager"
	send := func(token, name string) {
		t.Helper()
		code, out := post(t, url, token, "application/json", grafanaBody(t, name))
		require.Equal(t, http.StatusOK, code, "%s: %v", name, out)
	}

	// A rule firing for two instances: one incident, its alerts keyed by
	// Grafana's fingerprints, its summary the rule's; no severity label,
	// so low urgency.
	send(grafanaToken, "firing.json")
	send(grafanaToken, "firing.json") // Grafana sends the group again
	cpu := findIncident(t, base, "High CPU")
	require.Equal(t, klaxon.StateTriggered, cpu.State)
	require.Equal(t, "CPU above 90% on web-1:9100", cpu.Summary)
	require.Equal(t, klaxon.UrgencyLow, cpu.Urgency)
	require.Equal(t, 2, cpu.AlertCount)
	var keys []string
	for _, a := range cpu.Alerts {
		keys = append(keys, a.Key)
		require.Equal(t, "grafana", a.Labels["integration"])
		require.Equal(t, "https://grafana.example.com/", a.Source)
		require.Equal(t, "https://grafana.example.com/alerting/grafana/be2x3t4qlwi68d/view?orgId=1", a.URL)
		require.True(t, strings.HasPrefix(a.Annotations["dashboard_url"], "https://grafana.example.com/d/rYdddlPWk?"))
		require.True(t, strings.HasPrefix(a.Annotations["silence_url"], "https://grafana.example.com/alerting/silence/new?"))
		require.Equal(t, 1, a.Count, "the group sent again is the same occurrence")
	}
	require.ElementsMatch(t, []string{"grafana/1f6e4e4d0b5c0a13", "grafana/c4d1a07e5b2f9e60"}, keys)
	waitFor(t, "the incident's page", func() bool { return len(served.pagesFor(cpu.ID)) > 0 })

	// The rule's query returns nothing, or fails: the page says so, and
	// for which rule.
	send(grafanaToken, "nodata.json")
	nodata := findIncident(t, base, "DatasourceNoData")
	require.Equal(t, "DatasourceNoData: High CPU", nodata.Summary)
	send(grafanaPagingToken, "error.json")
	failed := findIncident(t, base, "DatasourceError")
	require.True(t, strings.HasPrefix(failed.Summary, "DatasourceError: High CPU: [sse.dataQueryError] failed to execute query [A]"), failed.Summary)
	require.Equal(t, klaxon.UrgencyHigh, failed.Urgency, "the integration's severity=critical")

	// The contact point's Test button: accepted, and says what it is.
	send(grafanaToken, "test-notification.json")
	test := findIncident(t, base, "TestAlert")
	require.Equal(t, "Notification test", test.Summary)
	require.Equal(t, "Grafana", test.Alerts[0].Labels["instance"])
	waitFor(t, "the test notification's page, as any alert's", func() bool { return len(served.pagesFor(test.ID)) > 0 })

	// The rule resolves for both instances: the incident resolves.
	send(grafanaToken, "resolved.json")
	cpu = getIncident(t, base, cpu.ID)
	require.Equal(t, klaxon.StateResolved, cpu.State)
	for _, a := range cpu.Alerts {
		require.Equal(t, klaxon.Resolved, a.Status)
		require.Equal(t, time.Date(2026, 11, 23, 22, 19, 10, 0, time.UTC), a.EndsAt)
	}

	// HTTP Basic Authentication, the contact point's other choice, is
	// refused; so is the HTTP method PUT.
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(grafanaBody(t, "firing.json")))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("grafana", grafanaToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	req, err = http.NewRequest(http.MethodPut, url, bytes.NewReader(grafanaBody(t, "firing.json")))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+grafanaToken)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, "POST", resp.Header.Get("Allow"))
	require.Contains(t, string(b), "method PUT not allowed on /v1/ingest/alertmanager: use POST")
}
