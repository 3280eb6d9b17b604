package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/internal/klaxontest"
)

// TestWorkAnIncident: note, assign and merge from the command line, as
// the timeline then records them.
func TestWorkAnIncident(t *testing.T) {
	h := klaxontest.Start(t, klaxontest.Config{
		Policies: []klaxontest.Policy{{Name: "default", Steps: []klaxontest.Step{{Targets: []string{"user:bob"}, EscalateAfter: 5 * time.Minute}}}},
		Users:    []klaxontest.User{{ID: "bob", Phone: "+15550100002", Notify: []klaxontest.Rule{klaxontest.SMS(0)}}, {ID: "carol", Email: "carol@example.com", Notify: []klaxontest.Rule{klaxontest.Email(time.Hour)}}},
		GroupBy:  []string{"instance"},
	})
	body, err := os.ReadFile("../../internal/klaxontest/testdata/firing-two-alerts.json")
	require.NoError(t, err)
	h.Alertmanager(body)                // two instances: two incidents
	h.Phone("+15550100002").ExpectSMS() // the second page is bundled with it
	cli := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), append(args, "--server", h.URL, "--token", klaxontest.APIToken), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	first, second := "1", "2"

	out, err := cli("note", first, "rolling back", "--by", "bob")
	require.NoError(t, err, out)
	require.Contains(t, out, "noted on incident 1")
	out, err = cli("note", first, "payments are flowing again", "--update")
	require.NoError(t, err, out)
	out, err = cli("assign", first, "carol", "--commander")
	require.NoError(t, err, out)
	require.Equal(t, "incident 1: assignee none, commander carol\n", out)
	out, err = cli("assign", first, "mallory")
	require.ErrorContains(t, err, `no user "mallory"`)
	out, err = cli("note", first)
	require.ErrorIs(t, err, errUsage, out)

	out, err = cli("merge", second, first)
	require.NoError(t, err, out)
	require.Contains(t, out, "incident 2 merged into 1, which now holds 2 alerts")
	require.Equal(t, klaxon.StateResolved, h.Incident(second).State)

	// Alertmanager sends its group again: incident 2's alert, which 1
	// holds now, opens no incident and pages nobody (the harness fails on
	// a page it was not told to expect).
	h.Alertmanager(body)
	code, listed := h.Do(http.MethodGet, "/v1/incidents?state=all", nil)
	require.Equal(t, http.StatusOK, code, "%s", listed)
	var all api.IncidentList
	require.NoError(t, json.Unmarshal(listed, &all))
	require.Len(t, all.Incidents, 2, "no incident opened")

	inc := h.Incident(first)
	require.Equal(t, "carol", inc.Commander)
	var got []string
	for _, e := range inc.Timeline {
		switch e.Kind {
		case klaxon.EventNote, klaxon.EventStatusUpdate, klaxon.EventCommanderSet, klaxon.EventMerged:
			got = append(got, strings.Join(strings.Fields(string(e.Kind)+" "+e.By+" "+e.How+" "+e.User+" "+e.Text), " "))
		}
	}
	require.Equal(t, []string{
		"note bob cli rolling back",
		"status_update test cli payments are flowing again",
		"commander_set test cli carol",
		"merged test cli #2 5xx ratio above 5% on payments (1 alert)",
	}, got)

	// The review, and the report of both incidents.
	out, err = cli("incident", "export", first, "--tz", "America/New_York")
	require.NoError(t, err, out)
	require.Contains(t, out, "# Incident 1: 5xx ratio above 5% on payments")
	require.Contains(t, out, "payments are flowing again")
	require.Contains(t, out, "carol")
	// In New York's zone, with its date when it is another day there
	// (from midnight UTC to midnight in New York, 04:00 or 05:00 UTC).
	require.Regexp(t, `UTC \((\d{4}-\d\d-\d\d )?\d\d:\d\d(:\d\d)? E[SD]T\)`, out)
	_, err = cli("incident", "export", first, "--tz", "Mars/Olympus")
	require.ErrorContains(t, err, `unknown time zone "Mars/Olympus"`)

	out, err = cli("report", "--since", "1d", "--json")
	require.NoError(t, err, out)
	var rep struct {
		Overall struct {
			Incidents int `json:"incidents"`
			Pages     int `json:"pages"`
		} `json:"overall"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Equal(t, 2, rep.Overall.Incidents)
	require.Equal(t, 1, rep.Overall.Pages, "the bundled page went out once")
	out, err = cli("report", "--by", "policy")
	require.NoError(t, err, out)
	require.Contains(t, out, "default")
	_, err = cli("report", "--by", "weather")
	require.ErrorContains(t, err, "must be policy, service, integration or user")
}
