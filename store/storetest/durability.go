package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/stretchr/testify/require"
)

// testReopen commits, closes and reopens: everything committed is there.
func testReopen(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	resolved := create(t, s, "old", klaxon.StateResolved)
	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	inc := incident(id, "g", klaxon.StateTriggered)
	timer := klaxon.Timer{Incident: id, Group: "g", Due: t0.Add(5 * time.Minute)}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{
		Group: "g", Version: 0, Open: id,
		Incidents: []*klaxon.Incident{inc},
		Index:     []string{"am/a", "am/b"},
		Timers:    []klaxon.Timer{timer},
	}))
	require.NoError(t, s.Close())

	s = connect(t, open)
	g, err := s.Group(ctx, "g", []string{"am/" + id})
	require.NoError(t, err)
	g.Token = "" // see testGroupTokens
	g.Alerts = unstored(g.Alerts)
	require.Equal(t, klaxon.Group{Key: "g", Version: 1, Open: header(inc), Alerts: unstored(map[string]klaxon.Seen{"am/" + id: inc.Changed[0].Seen()})}, g)
	events, total, err := s.Timeline(ctx, id, 0, 10)
	require.NoError(t, err)
	require.Equal(t, inc.Recorded, events)
	require.Equal(t, 2, total)
	got, err := s.Incident(ctx, resolved.ID)
	require.NoError(t, err)
	require.Equal(t, resolved, got)
	list, err := s.Incidents(ctx, klaxon.IncidentFilter{})
	require.NoError(t, err)
	require.Equal(t, []string{id}, IDs(list))
	groups, err := s.AlertGroups(ctx, []string{"am/a", "am/b"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"am/a": "g", "am/b": "g"}, groups)
	claim(t, s, t0, time.Minute, 10, nil, timer.Due)
	claim(t, s, timer.Due, time.Minute, 10, []klaxon.Timer{timer}, time.Time{})
}

func testPingClose(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	require.NoError(t, s.Ping(t.Context()))
	require.NoError(t, s.Close())
	require.Error(t, s.Ping(t.Context()))
}

// testCanceled checks that every call gives up on a canceled context.
func testCanceled(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := map[string]func() error{
		"Group":          func() error { _, err := s.Group(ctx, "g", nil); return err },
		"IncidentAlerts": func() error { _, _, err := s.IncidentAlerts(ctx, "1", "", 10); return err },
		"Timeline":       func() error { _, _, err := s.Timeline(ctx, "1", 0, 10); return err },
		"Commit":         func() error { return s.Commit(ctx, klaxon.Commit{Group: "g"}) },
		"NextIncidentID": func() error { _, err := s.NextIncidentID(ctx); return err },
		"Incident":       func() error { _, err := s.Incident(ctx, "1"); return err },
		"Incidents":      func() error { _, err := s.Incidents(ctx, klaxon.IncidentFilter{}); return err },
		"AlertGroups":    func() error { _, err := s.AlertGroups(ctx, []string{"am/a"}); return err },
		"Claim":          func() error { _, _, err := s.Claim(ctx, t0, time.Minute, 1); return err },
		"Ping":           func() error { return s.Ping(ctx) },
	}
	for name, call := range calls {
		require.ErrorIs(t, call(), context.Canceled, name)
	}
	g, err := s.Group(t.Context(), "g", nil)
	require.NoError(t, err)
	require.Zero(t, g.Version, "a canceled commit changes nothing")
}
