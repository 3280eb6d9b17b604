package app

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// TestMaintenanceEndReadsFirst: a window ended early no longer holds an
// alert that comes while its held incidents are released: the release
// runs once the windows were read again. Before, the windows were read
// after it, and such an alert was held until the window's first end, a
// week on, which no release came for.
func TestMaintenanceEndReadsFirst(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	lbls := map[string]string{"service": "db", "alertname": "DBDown"}

	var m *maintenance
	releases := 0
	release := func(context.Context, string) (int, error) {
		releases++
		_, until, held := m.hold(lbls, clock()) // an alert that comes meanwhile
		require.False(t, held, "held until %s by the window being released", until)
		return 0, nil
	}
	m = newMaintenance(newRuntime(&config.Config{}, nil), st, release, clock, slog.New(slog.DiscardHandler))
	w, err := m.Start(t.Context(), klaxon.Maintenance{Matchers: []string{`service="db"`}, From: now, To: now.Add(7 * 24 * time.Hour)})
	require.NoError(t, err)
	_, _, held := m.hold(lbls, now)
	require.True(t, held)

	now = now.Add(time.Second)
	require.NoError(t, m.End(t.Context(), w.ID))
	require.Equal(t, 1, releases)
}
