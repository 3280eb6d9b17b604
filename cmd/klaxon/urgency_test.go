package main

import (
	"bytes"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestUrgencyRisesWithDatadogAlert: a Datadog monitor's Warn opens an
// incident of low urgency, which texts alice by her rule for any
// urgency; when the monitor goes on to Alert, the incident's urgency
// rises, and alice is called by her rule for high urgency, at once,
// and not texted again.
func TestUrgencyRisesWithDatadogAlert(t *testing.T) {
	config := writeConfig(t, time.Hour)
	rewrite(t, config[:len(config)-len("klaxon.yaml")]+"users.yaml",
		`notify: [{via: sms, after: 0s}]`, `notify: [{via: sms, after: 0s}, {via: voice, after: 0s, urgency: high}]`)
	base, served, _ := startServe(t, config)
	url := base + "/v1/ingest/datadog"
	send := func(transition, alertType string) {
		body := mustRead(t, "datadog-triggered.json")
		body = bytes.Replace(body, []byte(`"transition": "Triggered"`), []byte(`"transition": "`+transition+`"`), 1)
		body = bytes.Replace(body, []byte(`"alert_type": "error"`), []byte(`"alert_type": "`+alertType+`"`), 1)
		code, out := post(t, url, ddToken, "application/json", body)
		require.Equal(t, http.StatusOK, code, out)
	}

	send("Warn", "warning")
	open := listIncidents(t, base, "open")
	require.Len(t, open, 1)
	id := open[0].ID
	waitFor(t, "alice is texted", func() bool { return len(served.pagesFor(id)) > 0 })
	require.Equal(t, klaxon.UrgencyLow, getIncident(t, base, id).Urgency)

	send("Triggered", "error")
	waitFor(t, "alice is called", func() bool {
		return slices.ContainsFunc(served.pagesFor(id), func(p page) bool { return p.via == "voice" })
	})
	var via []string
	for _, p := range served.pagesFor(id) {
		via = append(via, p.user+" by "+p.via)
	}
	require.Equal(t, []string{"alice by sms", "alice by voice"}, via)
	inc := getIncident(t, base, id)
	require.Equal(t, klaxon.UrgencyHigh, inc.Urgency)
	require.Equal(t, "critical", inc.Severity)
	require.Contains(t, eventKinds(inc), klaxon.EventUrgencyRaised)
}
