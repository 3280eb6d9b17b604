package embedded

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon"
)

// copyFile copies testdata file name into a fresh folder and returns its
// path there.
func copyFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "klaxon.db")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

// TestUpgradeLayout1 opens a file that the previous layout wrote (a
// quickstart run: an acknowledged incident paged by voice, one resolved
// by its alert, one open with a resolved alert that never joined, one
// resolved by hand, and an override) and reads it all in the new layout,
// also after a second open.
func TestUpgradeLayout1(t *testing.T) {
	path := copyFile(t, "v1.db")
	for range 2 {
		s, err := Open(path)
		require.NoError(t, err)
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
		g, err := s.Group(ctx, inc.Group, []string{"prometheus/58154c1580965620"})
		require.NoError(t, err)
		require.Equal(t, inc, g.Open)
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
		require.NoError(t, s.Close())
	}
}

// TestNewerLayoutRefused: a file of a layout this version does not know
// is never read wrongly; Open says what to do.
func TestNewerLayoutRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	s, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(layoutKey, []byte("3")) }))
	require.NoError(t, db.Close())

	_, err = Open(path)
	require.ErrorContains(t, err, "layout 3, written by a newer Klaxon")
}
