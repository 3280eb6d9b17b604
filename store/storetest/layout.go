package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// CheckLayout1 checks a store opened on what the first storage layout
// wrote in one quickstart run (each store keeps its own copy in its
// testdata): the example config; the Alertmanager fixture of two payments
// alerts, acknowledged after its first page, a voice call to bob; a
// DiskFull alert that fired and resolved; a NodeDown group of two firing
// alerts (a third came resolved and never joined); a generic event,
// resolved by hand; and an override putting bob on payments-primary. The
// page to bob is in the index of pages by user, which the upgrade built.
func CheckLayout1(t *testing.T, s klaxon.Store) {
	t.Helper()
	ctx := t.Context()
	inc, err := s.Incident(ctx, "1")
	require.NoError(t, err)
	require.Equal(t, klaxon.StateAcknowledged, inc.State)
	require.Equal(t, 2, inc.AlertCount)
	require.Equal(t, 2, inc.FiringCount)
	require.Len(t, inc.Sent, 1)
	require.Equal(t, klaxon.Sent{Notification: 1, Step: 0, User: "bob", Via: "voice", At: inc.PagedAt}, inc.Sent[0])
	require.False(t, inc.PagedAt.IsZero())

	events, total, err := s.Timeline(ctx, "1", 0, 100)
	require.NoError(t, err)
	require.Equal(t, 5, total)
	var kinds []klaxon.EventKind
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	require.Equal(t, []klaxon.EventKind{klaxon.EventTriggered, klaxon.EventAlertJoined, klaxon.EventEscalated, klaxon.EventPageSent, klaxon.EventAcknowledged}, kinds)

	alerts, next, err := s.IncidentAlerts(ctx, "1", "", 100)
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, alerts, 2)
	require.Equal(t, "prometheus/07a170fa4e47b2eb", alerts[0].Key)
	require.Equal(t, "https://runbooks.example.com/payments/5xx", alerts[0].Annotations["runbook_url"])

	// The open incident's group reads its alerts by key.
	g, err := s.Group(ctx, inc.Group, []string{"prometheus/58154c1580965620", "prometheus/nope"})
	require.NoError(t, err)
	require.Equal(t, inc, g.Open)
	require.Len(t, g.Alerts, 1)
	require.Contains(t, g.Alerts, "prometheus/58154c1580965620")

	node, err := s.Incident(ctx, "3")
	require.NoError(t, err)
	require.Equal(t, klaxon.StateTriggered, node.State)
	require.Equal(t, 2, node.AlertCount, "the resolved alert never joined")

	list, err := s.Incidents(ctx, klaxon.IncidentFilter{States: []klaxon.State{klaxon.StateResolved}})
	require.NoError(t, err)
	require.Len(t, list, 2)
	groups, err := s.AlertGroups(ctx, []string{"prometheus/07a170fa4e47b2eb", "prometheus/aaaa000000000001"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"prometheus/07a170fa4e47b2eb": inc.Group}, groups)
	ov, err := s.Overrides(ctx, "payments-primary", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Len(t, ov, 1)

	// The upgrade indexed the open incident's page to bob: a reply finds it.
	paged, err := s.PagedIncidents(ctx, "bob")
	require.NoError(t, err)
	require.Equal(t, []*klaxon.Incident{inc}, paged)
}
