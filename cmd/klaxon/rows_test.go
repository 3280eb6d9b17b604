package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
)

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
