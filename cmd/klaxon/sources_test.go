package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
)

// TestSources opens and closes incidents from Datadog, PagerDuty Events v2
// and the generic format, with their real bodies.
func TestSources(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	incidentOf := func(integration string) *api.IncidentView {
		t.Helper()
		for _, listed := range listIncidents(t, base, "all") {
			if inc := getIncident(t, base, listed.ID); len(inc.Alerts) > 0 && inc.Alerts[0].Integration == integration {
				return inc
			}
		}
		t.Fatalf("no incident from %s", integration)
		return nil
	}

	t.Run("datadog", func(t *testing.T) {
		url := base + "/v1/ingest/datadog"
		code, out := post(t, url, ddToken, "application/json", mustRead(t, "datadog-triggered.json"))
		require.Equal(t, http.StatusOK, code, out)
		inc := incidentOf("datadog")
		require.Equal(t, klaxon.StateTriggered, inc.State)
		require.Equal(t, "datadog/7412904861038742911", inc.Alerts[0].Key)

		code, out = post(t, url, ddToken, "application/json", mustRead(t, "datadog-recovered.json"))
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, klaxon.StateResolved, getIncident(t, base, inc.ID).State)
	})

	t.Run("pagerduty", func(t *testing.T) {
		url := base + "/v2/enqueue"
		code, out := post(t, url, "", "application/json", mustRead(t, "pagerduty-trigger.json"))
		require.Equal(t, http.StatusAccepted, code, out)
		require.Equal(t, map[string]any{"status": "success", "message": "Event processed", "dedup_key": "checkout-api/latency"}, out)
		inc := incidentOf("tools")
		require.Equal(t, "checkout-api p99 latency above 2s", inc.Summary)
		// Every alert carries its integration, and the integration's
		// labels, for routing.
		require.Equal(t, "tools", inc.Alerts[0].Labels["integration"])
		require.Equal(t, "tools-team", inc.Alerts[0].Labels["team"])

		code, out = post(t, url, "", "application/json", mustRead(t, "pagerduty-acknowledge.json"))
		require.Equal(t, http.StatusAccepted, code, out)
		inc = getIncident(t, base, inc.ID)
		require.Equal(t, klaxon.StateAcknowledged, inc.State)
		require.Equal(t, "tools", inc.AckedBy)

		firing := inc.Alerts[0]
		code, out = post(t, url, "", "application/json", mustRead(t, "pagerduty-resolve.json"))
		require.Equal(t, http.StatusAccepted, code, out)
		resolved := getIncident(t, base, inc.ID)
		require.Equal(t, klaxon.StateResolved, resolved.State)
		// The resolve has no payload: what was known of the alert stays.
		a := resolved.Alerts[0]
		require.Equal(t, klaxon.Resolved, a.Status)
		require.NotEmpty(t, firing.Summary)
		require.Equal(t, firing.Summary, a.Summary)
		require.Equal(t, firing.Severity, a.Severity)
		require.Equal(t, firing.Source, a.Source)
		require.Equal(t, firing.Labels, a.Labels)
		require.Equal(t, firing.StartsAt, a.StartsAt)

		// Counted by the alert's status, as every source is.
		_, m := getText(t, base+"/metrics")
		require.Equal(t, 2.0, metric(t, m, `klaxon_ingest_alerts_total{integration="tools",status="firing"}`), "trigger and acknowledge")
		require.Equal(t, 1.0, metric(t, m, `klaxon_ingest_alerts_total{integration="tools",status="resolved"}`))
		require.NotContains(t, m, `status="trigger"`)

		code, out = post(t, url, "", "application/json", mustRead(t, "pagerduty-invalid-missing-summary.json"))
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, "invalid event", out["status"])
		require.Equal(t, []any{"'payload.summary' is missing or blank"}, out["errors"])

		wrongKey := []byte(`{"routing_key":"nope","event_action":"resolve","dedup_key":"x"}`)
		code, out = post(t, url, "", "application/json", wrongKey)
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, []any{"Invalid routing key"}, out["errors"])
	})

	t.Run("generic", func(t *testing.T) {
		url := base + "/v1/ingest/generic"
		code, out := post(t, url, genericToken, "application/json", []byte(`{"dedup_key":"backup-1","summary":"nightly backup failed","severity":"critical","source":"cron","labels":{"alertname":"BackupFailed","service":"backup"}}`))
		require.Equal(t, http.StatusOK, code, out)
		inc := incidentOf("generic")
		require.Equal(t, "nightly backup failed", inc.Summary)

		code, out = post(t, url, genericToken, "application/json", []byte(`{"dedup_key":"backup-1","status":"resolved"}`))
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, klaxon.StateResolved, getIncident(t, base, inc.ID).State)

		code, _ = post(t, url, ddToken, "application/json", []byte(`{"summary":"x"}`))
		require.Equal(t, http.StatusUnauthorized, code, "another source's token is refused")
	})

	// An alert with none of its route's group_by labels is a group of its
	// own, as on PagerDuty: a critical event from one tool never joins an
	// open low-urgency incident of another's.
	t.Run("alerts without group labels stay apart", func(t *testing.T) {
		code, out := post(t, base+"/v1/ingest/generic", genericToken, "application/json",
			[]byte(`{"dedup_key":"cert-1","summary":"certificate expires in 20 days","severity":"info","source":"certbot"}`))
		require.Equal(t, http.StatusOK, code, out)
		code, out = post(t, base+"/v2/enqueue", "", "application/json",
			[]byte(`{"routing_key":"R0UTINGKEY0000000000000000000001","event_action":"trigger","dedup_key":"db-disk","payload":{"summary":"db disk full","source":"db-1","severity":"critical"}}`))
		require.Equal(t, http.StatusAccepted, code, out)

		bySummary := map[string]*api.IncidentView{}
		for _, listed := range listIncidents(t, base, "all") {
			inc := getIncident(t, base, listed.ID)
			bySummary[inc.Summary] = inc
		}
		cert, disk := bySummary["certificate expires in 20 days"], bySummary["db disk full"]
		require.NotNil(t, cert)
		require.NotNil(t, disk)
		require.NotEqual(t, cert.ID, disk.ID)
		require.Equal(t, 1, disk.AlertCount)
		require.Equal(t, klaxon.UrgencyHigh, disk.Urgency)
		require.Equal(t, klaxon.StateTriggered, disk.State)
	})
}
