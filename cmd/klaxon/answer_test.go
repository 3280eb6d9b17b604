package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
)

// TestCLIReadsLargeAnswers: a page the CLI asks for within the bounds it
// offers (--limit up to 1,000) is read whole, however large the server's
// answer. Alerts keep a summary and annotations of up to 16 KiB each, and
// each alert's event says its summary: `klaxon incident show ID --limit
// 1000` of a storm's incident of such alerts is answered 200 with some 64
// MB (measured: 64,530,502 bytes for 1,000 alerts with a 16 KB summary
// and description), and `klaxon incidents --limit 1000` with 16 KiB
// summaries and 4 KiB group labels over 20 MB. The CLI cuts every answer at 16 MiB and reports
// the cut as "unexpected end of JSON input", so the responder sees
// nothing of the incident and no hint why.
func TestCLIReadsLargeAnswers(t *testing.T) {
	summary, label := strings.Repeat("x", 16<<10), strings.Repeat("l", 4<<10) // the longest kept
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	view := api.IncidentView{Incident: &klaxon.Incident{ID: "42", Summary: "storm", State: klaxon.StateTriggered, CreatedAt: at}}
	var list api.IncidentList
	for i := range 1000 {
		key := fmt.Sprintf("prometheus/a%04d", i)
		view.Alerts = append(view.Alerts, klaxon.AlertState{Alert: klaxon.Alert{Key: key, Status: klaxon.Firing, Summary: summary,
			Annotations: map[string]string{"description": summary}}, Count: 1, FirstSeen: at, LastSeen: at})
		view.Timeline = append(view.Timeline, klaxon.Event{At: at, Kind: klaxon.EventAlertJoined, Alert: key, Text: summary})
		list.Incidents = append(list.Incidents, &klaxon.Incident{ID: fmt.Sprint(2000 - i), Summary: summary, State: klaxon.StateTriggered, CreatedAt: at,
			Labels: map[string]string{"alertname": label}})
	}
	view.AlertCount, view.FiringCount, view.TimelineTotal = 1000, 1000, 1000
	answers := map[string]any{"/v1/incidents/42": view, "/v1/incidents": list}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := answers[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v) // the CLI may hang up
	}))
	t.Cleanup(srv.Close)

	tests := []struct {
		name string
		args []string
		want string // the last line of the page, or near it
	}{
		{"incident show", []string{"incident", "show", "42", "--limit", "1000"}, "prometheus/a0999"},
		{"incidents", []string{"incidents", "--limit", "1000"}, "1001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(t.Context(), append(tt.args, "--server", srv.URL, "--token", apiToken), &out, &errOut)
			require.NoError(t, err, errOut.String())
			require.Contains(t, out.String(), tt.want)
		})
	}
}
