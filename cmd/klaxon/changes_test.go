package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestChangeEvents: a deploy tool that sends PagerDuty change events to
// klaxon serve's /v2/change/enqueue is answered as PagerDuty answers it;
// the change opens no incident, and the review of the incident that a
// PagerDuty trigger of the same integration opens next lists it, but not
// one of two days before.
func TestChangeEvents(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	url := base + "/v2/change/enqueue"
	code, out := post(t, url, "", "application/json",
		[]byte(`{"routing_key":"`+pdRoutingKey+`","payload":{"summary":"Deploy checkout-api 2026.11.23-3","source":"github-actions"},
			"links":[{"href":"https://ci.example.com/runs/4242","text":"View run"}]}`))
	require.Equal(t, http.StatusAccepted, code, out)
	require.Equal(t, map[string]any{"status": "success", "message": "Change event processed"}, out)
	old := time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339)
	code, out = post(t, url, "", "application/json",
		[]byte(`{"routing_key":"`+pdRoutingKey+`","payload":{"summary":"Deploy of two days before","timestamp":"`+old+`"}}`))
	require.Equal(t, http.StatusAccepted, code, out)
	code, out = post(t, url, "", "application/json", []byte(`{"routing_key":"nope","payload":{"summary":"s"}}`))
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, []any{"Invalid routing key"}, out["errors"])
	require.Empty(t, listIncidents(t, base, "all"), "a change opens no incident")

	code, out = post(t, base+"/v2/enqueue", "", "application/json", mustRead(t, "pagerduty-trigger.json"))
	require.Equal(t, http.StatusAccepted, code, out)
	incs := listIncidents(t, base, "all")
	require.Len(t, incs, 1)

	req, err := http.NewRequest(http.MethodGet, base+"/v1/incidents/"+incs[0].ID+"/review.md", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+readToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	md := string(b)
	_, section, ok := strings.Cut(md, "## Changes before\n\n")
	require.True(t, ok, md)
	section, _, _ = strings.Cut(section, "## ")
	require.Contains(t, section, "Change events received on tools in the 24 hours before the incident opened")
	require.Contains(t, section, "| tools | Deploy checkout-api 2026.11.23-3 | github-actions | View run: https://ci.example.com/runs/4242 |")
	require.NotContains(t, section, "two days before")
}
