package escalate_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
)

var workT0 = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

func timeline(t *testing.T, r *incidenttest.Rig, id string) []klaxon.Event {
	t.Helper()
	events, _, err := r.Store.Timeline(t.Context(), id, 0, 1000)
	require.NoError(t, err)
	return events
}

func TestNotesAndRoles(t *testing.T) {
	r := incidenttest.NewRig(t, workT0)
	id := r.Open(t, "db")
	alice := klaxon.Actor{By: "alice", How: "sms"}

	_, err := r.Engine.Note(t.Context(), id, "  ", false, alice)
	require.ErrorIs(t, err, klaxon.ErrInvalid)
	_, err = r.Engine.Note(t.Context(), id, "restarting the primary", false, alice)
	require.NoError(t, err)

	inc, err := r.Engine.Act(t.Context(), klaxon.ActionAck, id, alice)
	require.NoError(t, err)
	require.Equal(t, "alice", inc.Assignee, "the first to acknowledge works it")

	inc, err = r.Engine.Assign(t.Context(), id, incident.RoleAssignee, "bob", klaxon.Actor{By: "ops", How: "cli"})
	require.NoError(t, err)
	require.Equal(t, "bob", inc.Assignee)
	inc, err = r.Engine.Assign(t.Context(), id, incident.RoleCommander, "carol", klaxon.Actor{By: "ops", How: "web"})
	require.NoError(t, err)
	require.Equal(t, "carol", inc.Commander)
	_, err = r.Engine.Assign(t.Context(), id, "scribe", "dave", klaxon.Actor{By: "ops"})
	require.ErrorIs(t, err, klaxon.ErrInvalid)

	_, err = r.Engine.Act(t.Context(), klaxon.ActionResolve, id, alice)
	require.NoError(t, err)
	_, err = r.Engine.Note(t.Context(), id, "root cause: a full disk", true, klaxon.Actor{By: "bob", How: "web"})
	require.NoError(t, err, "a resolved incident takes notes, for the review")

	var got []string
	for _, e := range timeline(t, r, id) {
		switch e.Kind {
		case klaxon.EventNote, klaxon.EventStatusUpdate:
			got = append(got, string(e.Kind)+" "+e.By+": "+e.Text)
		case klaxon.EventAssigned, klaxon.EventCommanderSet:
			got = append(got, string(e.Kind)+" "+e.User+" by "+e.By+" via "+e.How)
		}
	}
	require.Equal(t, []string{
		"note alice: restarting the primary",
		"assigned bob by ops via cli",
		"commander_set carol by ops via web",
		"status_update bob: root cause: a full disk",
	}, got)
}

func TestMerge(t *testing.T) {
	r := incidenttest.NewRig(t, workT0)
	dst := r.Open(t, "db", klaxon.Sent{Notification: 1, User: "alice", Via: "sms", At: workT0})
	src := r.Open(t, "db-replica")
	r.Update(t, src, func(inc *klaxon.Incident) {
		for _, k := range []string{"prometheus/a", "prometheus/b"} {
			inc.Changed = append(inc.Changed, klaxon.AlertState{Alert: klaxon.Alert{Key: k, Status: klaxon.Firing, Summary: "replica lag"}, Count: 1, FirstSeen: workT0, LastSeen: workT0})
		}
		inc.AlertCount, inc.FiringCount = 2, 2
		inc.Record(klaxon.Event{At: workT0, Kind: klaxon.EventAlertJoined, Alert: "prometheus/a"})
	})
	ops := klaxon.Actor{By: "ops", How: "cli"}

	_, err := r.Engine.Merge(t.Context(), src, src, ops)
	require.ErrorIs(t, err, klaxon.ErrInvalid)

	out, err := r.Engine.Merge(t.Context(), src, dst, ops)
	require.NoError(t, err)
	require.Equal(t, 2, out.AlertCount)
	require.Len(t, out.Sent, 1, "src's pages do not become dst's")

	alerts, _, err := r.Store.IncidentAlerts(t.Context(), dst, "", 10)
	require.NoError(t, err)
	require.Len(t, alerts, 2)
	events := timeline(t, r, dst)
	var merged bool
	for _, e := range events {
		if e.Kind == klaxon.EventMerged {
			merged = true
			require.Equal(t, "#"+src+" db-replica is down (2 alerts)", e.Text)
		}
	}
	require.True(t, merged)
	require.Equal(t, "#"+src+": ", events[len(events)-1].Text)
	require.Equal(t, klaxon.EventAlertJoined, events[len(events)-1].Kind)

	from := r.Incident(t, src)
	require.Equal(t, klaxon.StateResolved, from.State)
	srcEvents := timeline(t, r, src)
	require.Equal(t, klaxon.EventMergedInto, srcEvents[len(srcEvents)-1].Kind)
	require.Equal(t, "#"+dst, srcEvents[len(srcEvents)-1].Text)

	// Asked again, it changes nothing.
	out, err = r.Engine.Merge(t.Context(), src, dst, ops)
	require.NoError(t, err)
	require.Equal(t, 2, out.AlertCount)
	require.Len(t, timeline(t, r, dst), len(events))

	third := r.Open(t, "queue")
	_, err = r.Engine.Merge(t.Context(), src, third, ops)
	require.ErrorIs(t, err, klaxon.ErrConflict, "merged into "+dst+" already")

	_, err = r.Engine.Act(t.Context(), klaxon.ActionResolve, dst, ops)
	require.NoError(t, err)
	other := r.Open(t, "cache")
	_, err = r.Engine.Merge(t.Context(), other, dst, ops)
	require.ErrorIs(t, err, klaxon.ErrConflict, "nothing merges into a resolved incident")
}
