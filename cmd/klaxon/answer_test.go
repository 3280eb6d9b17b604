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

// TestIncidentsTableOneLineEach: `klaxon incidents` prints one line per
// incident, of a size a terminal shows. A summary is free text of up to
// 16 KiB, and may hold line breaks (a generic event's or a Datadog
// message's stack trace): the table prints it as it is, so that one
// incident takes several lines, the lines after it look like rows of
// their own, the columns of the rows below shift, and a storm's list of
// 50 incidents of long summaries prints 800 KB.
func TestIncidentsTableOneLineEach(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		summary string
	}{
		{"a summary of several lines", "deploy failed\nTraceback (most recent call last):\n  File \"app.py\", line 1\nValueError: boom"},
		{"a summary of 16 KiB", strings.Repeat("no space left on device ", 700)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := api.IncidentList{Incidents: []*klaxon.Incident{
				{ID: "43", Summary: tt.summary, State: klaxon.StateTriggered, CreatedAt: at, AlertCount: 1, FiringCount: 1},
				{ID: "42", Summary: "disk full", State: klaxon.StateTriggered, CreatedAt: at, AlertCount: 100, FiringCount: 100},
			}}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(list)
			}))
			t.Cleanup(srv.Close)

			var out, errOut bytes.Buffer
			require.NoError(t, run(t.Context(), []string{"incidents", "--server", srv.URL, "--token", apiToken}, &out, &errOut), errOut.String())
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			require.Len(t, lines, 3, "a header and a line per incident:\n%.2000s", out.String())
			require.True(t, strings.HasPrefix(lines[1], "43 "), lines[1])
			require.True(t, strings.HasPrefix(lines[2], "42 "), lines[2])
			for _, l := range lines {
				require.LessOrEqual(t, len(l), 1<<10, "bytes of a line")
			}
		})
	}
}
