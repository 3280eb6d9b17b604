package main

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

func getText(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// metric reads one sample's value from a Prometheus text exposition.
func metric(t *testing.T, body, sample string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return v
}

func TestHealthAndMetrics(t *testing.T) {
	base, logs, _ := startServe(t, writeConfig(t, time.Hour))
	code, body := getText(t, base+"/healthz")
	require.Equal(t, http.StatusOK, code, body)
	code, body = getText(t, base+"/readyz")
	require.Equal(t, http.StatusOK, code, body)

	postFixture(t, base, "firing-two-alerts.json")
	id := findIncident(t, base, "HighErrorRate").ID
	waitFor(t, "alice is paged", func() bool { return len(logs.pagesFor(id)) == 1 })

	// No Twilio in this config: the console stands in for alice's SMS, and
	// the page is counted and recorded as the console's, never as an SMS
	// that nobody received.
	var m string
	// The first page's time is observed once the page is recorded, a
	// moment after it is counted: wait for both.
	waitFor(t, "the page is counted and timed", func() bool {
		_, m = getText(t, base+"/metrics")
		return metric(t, m, `klaxon_pages_total{channel="console",result="sent"}`) == 1 &&
			metric(t, m, "klaxon_first_page_seconds_count") == 1
	})
	require.NotContains(t, m, `klaxon_pages_total{channel="sms"`)
	var sent []klaxon.Event
	for _, e := range getIncident(t, base, id).Timeline {
		if e.Kind == klaxon.EventPageSent {
			sent = append(sent, e)
		}
	}
	require.Len(t, sent, 1)
	require.Equal(t, "console", sent[0].Via)
	require.Equal(t, "standing in for sms, which is not configured", sent[0].Text)
	require.Equal(t, 2.0, metric(t, m, `klaxon_ingest_alerts_total{integration="prometheus",status="firing"}`))
	require.Equal(t, 1.0, metric(t, m, `klaxon_incidents_opened_total{policy="oncall"}`))
	require.Equal(t, 0.0, metric(t, m, "klaxon_ingest_alerts_deduplicated_total"))
	require.Equal(t, 1.0, metric(t, m, "klaxon_ingest_commit_seconds_count"))
	require.Equal(t, 1.0, metric(t, m, `klaxon_ingest_request_seconds_count{code="200",route="POST /v1/ingest/{source}"}`))

	// The same alerts again: committed (their last_seen moves), counted
	// as deduplicated, and no incident more.
	postFixture(t, base, "firing-two-alerts.json")
	_, m = getText(t, base+"/metrics")
	require.Equal(t, 2.0, metric(t, m, "klaxon_ingest_alerts_deduplicated_total"))
	require.Equal(t, 1.0, metric(t, m, `klaxon_incidents_opened_total{policy="oncall"}`))
	require.Equal(t, 2.0, metric(t, m, `klaxon_ingest_request_seconds_count{code="200",route="POST /v1/ingest/{source}"}`))

	// Acknowledged, then resolved by hand: counted by policy, and the
	// acknowledgement timed.
	for _, act := range []string{"ack", "resolve"} {
		code, out := post(t, base+"/v1/incidents/"+id+"/"+act, apiToken, "application/json", []byte(`{"by":"alice"}`))
		require.Equal(t, http.StatusOK, code, out)
	}
	_, m = getText(t, base+"/metrics")
	require.Equal(t, 1.0, metric(t, m, `klaxon_incidents_acknowledged_total{policy="oncall"}`))
	require.Equal(t, 1.0, metric(t, m, `klaxon_incidents_resolved_total{policy="oncall"}`))
	require.Equal(t, 1.0, metric(t, m, "klaxon_time_to_acknowledge_seconds_count"))
	require.GreaterOrEqual(t, metric(t, m, "klaxon_escalation_lateness_seconds_count"), 1.0, "the first step's timer, claimed")
	require.Contains(t, m, "klaxon_engine_claims_held ")
	require.Equal(t, 1.0, metric(t, m, "klaxon_first_page_seconds_count"))
	require.Less(t, metric(t, m, "klaxon_first_page_seconds_sum"), 15.0)
	require.Contains(t, m, "go_goroutines")
}

// TestMetricsToken: with api.metrics_token set, /metrics asks for that
// token, and no other.
func TestMetricsToken(t *testing.T) {
	config := writeConfig(t, time.Hour)
	rewrite(t, config, "api:\n", "api:\n  metrics_token: scrape-token\n")
	base, _, _ := startServe(t, config)
	get := func(token string) int {
		req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, get(""))
	require.Equal(t, http.StatusUnauthorized, get(apiToken), "an API token is not the metrics token")
	require.Equal(t, http.StatusOK, get("scrape-token"))
}
