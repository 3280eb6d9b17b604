package redis

import (
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// commitIncident opens a new incident in a group never written, with the
// alerts indexed and a timer due at t0, and returns its ID.
func commitIncident(t testing.TB, s *Store, group string, alerts ...string) string {
	t.Helper()
	return commitIncidentOf(t, s, group, "", alerts...)
}

// commitIncidentOf is commitIncident for an incident of policy.
func commitIncidentOf(t testing.TB, s *Store, group, policy string, alerts ...string) string {
	t.Helper()
	ctx := t.Context()
	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	inc := &klaxon.Incident{ID: id, Group: group, Summary: "disk full", State: klaxon.StateTriggered, CreatedAt: t0, Policy: klaxon.Policy{Name: policy}}
	for _, a := range alerts {
		inc.Changed = append(inc.Changed, klaxon.AlertState{Alert: klaxon.Alert{Key: a, Status: klaxon.Firing}, Count: 1, FirstSeen: t0, LastSeen: t0})
	}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{
		Group: group, Version: 0, Open: id,
		Incidents: []*klaxon.Incident{inc},
		Index:     alerts,
		Timers:    []klaxon.Timer{{Incident: id, Group: group, Due: t0}},
	}))
	return id
}
