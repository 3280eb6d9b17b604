package redis

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// TestUpgradeLayout1 starts Redis on keys that the previous layout wrote
// (testdata/v1.rdb, from a quickstart run on Redis: an acknowledged
// incident paged by voice, one resolved by its alert, one open with a
// resolved alert that never joined, one resolved by hand, and an
// override) and reads it all in the new layout, also after a second open.
func TestUpgradeLayout1(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop(t)
	rdb, err := os.ReadFile(filepath.Join("testdata", "v1.rdb"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(srv.Dir(), "dump.rdb"), rdb, 0o600))
	srv.Restart(t)

	for range 2 {
		s := open(t, Options{Addrs: []string{srv.Addr()}})
		ctx := t.Context()

		inc, err := s.Incident(ctx, "1")
		require.NoError(t, err)
		require.Equal(t, klaxon.StateAcknowledged, inc.State)
		require.Equal(t, 2, inc.AlertCount)
		require.Equal(t, 2, inc.FiringCount)
		require.Len(t, inc.Sent, 1)
		sent := inc.Sent[0]
		require.Equal(t, klaxon.Sent{Notification: 1, Step: 0, User: "bob", Via: "voice", At: inc.PagedAt}, sent)
		require.False(t, sent.At.IsZero())
		events, total, err := s.Timeline(ctx, "1", 0, 100)
		require.NoError(t, err)
		require.Equal(t, 5, total)
		require.Equal(t, klaxon.EventTriggered, events[0].Kind)
		require.Equal(t, klaxon.EventAcknowledged, events[4].Kind)
		alerts, next, err := s.IncidentAlerts(ctx, "1", "", 100)
		require.NoError(t, err)
		require.Empty(t, next)
		require.Len(t, alerts, 2)
		require.Equal(t, "prometheus/07a170fa4e47b2eb", alerts[0].Key)

		g, err := s.Group(ctx, inc.Group, []string{"prometheus/58154c1580965620", "prometheus/nope"})
		require.NoError(t, err)
		require.Equal(t, inc, g.Open)
		require.Equal(t, []string{"prometheus/58154c1580965620"}, keysOf(g.Alerts))

		node, err := s.Incident(ctx, "3")
		require.NoError(t, err)
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
		require.NoError(t, s.Close())
	}
}

// TestNewerLayoutRefused: keys of a layout this version does not know are
// never read wrongly; Open says what to do.
func TestNewerLayoutRefused(t *testing.T) {
	addr := redistest.Start(t).Addr()
	s := open(t, Options{Addrs: []string{addr}, Prefix: "newer"})
	require.NoError(t, s.rdb.Set(t.Context(), s.layoutKey(), "3", 0).Err())
	require.NoError(t, s.Close())
	_, err := Open(t.Context(), Options{Addrs: []string{addr}, Prefix: "newer"})
	require.ErrorContains(t, err, "key layout 3, written by a newer Klaxon")
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
