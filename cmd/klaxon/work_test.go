package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
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
	require.Contains(t, out, "incident 2 merged into 1 (2 alerts)")
	require.Equal(t, klaxon.StateResolved, h.Incident(second).State)

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
}
