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
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// TestMaintenanceEndReadsFirst: a window ended early no longer holds an
// alert that comes while its held incidents are released: the release
// runs once the windows were read again. Before, the windows were read
// after it, and such an alert was held until the window's first end, a
// week on, which no release came for.
func TestMaintenanceEndReadsFirst(t *testing.T) {
	st := windowStore(t)
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	lbls := map[string]string{"service": "db", "alertname": "DBDown"}

	var m *maintenance
	releases := 0
	release := func(context.Context, string, escalate.Held) (int, error) {
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

// TestMaintenanceEndedElsewhere: a window ended on another replica still
// holds here while this replica has it cached (up to maintenanceRefresh),
// and an alert that comes then is held. Once the windows are read again,
// releaseEnded releases what the window held here; a window that ends
// by itself is released by no one.
func TestMaintenanceEndedElsewhere(t *testing.T) {
	st := windowStore(t)
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	lbls := map[string]string{"service": "db", "alertname": "DBDown"}
	rt := newRuntime(&config.Config{}, nil)
	none := func(context.Context, string, escalate.Held) (int, error) { return 0, nil }
	var released []string
	a := newMaintenance(rt, st, none, clock, slog.New(slog.DiscardHandler))
	b := newMaintenance(rt, st, func(_ context.Context, window string, _ escalate.Held) (int, error) {
		released = append(released, window)
		return 1, nil
	}, clock, slog.New(slog.DiscardHandler))

	w, err := a.Start(t.Context(), klaxon.Maintenance{Matchers: []string{`service="db"`}, From: now, To: now.Add(7 * 24 * time.Hour)})
	require.NoError(t, err)
	short, err := a.Start(t.Context(), klaxon.Maintenance{Matchers: []string{`service="web"`}, From: now, To: now.Add(time.Minute)})
	require.NoError(t, err)
	_, _, held := b.hold(lbls, now)
	require.True(t, held, "b reads the windows")

	now = now.Add(time.Second)
	require.NoError(t, a.End(t.Context(), w.ID))
	_, _, held = b.hold(lbls, now)
	require.True(t, held, "b has the window cached")
	b.releaseEnded(t.Context())
	require.Empty(t, released, "b's windows are not old yet")

	now = now.Add(maintenanceRefresh)
	b.releaseEnded(t.Context())
	require.Equal(t, []string{"#" + w.ID}, released)
	_, _, held = b.hold(lbls, now)
	require.False(t, held)

	now = now.Add(time.Minute) // short ends by itself
	b.releaseEnded(t.Context())
	require.Equal(t, []string{"#" + w.ID}, released, "%s ended at its end", short.ID)
}

// windowStore is a store of runtime windows for the test.
func windowStore(t *testing.T) *embedded.Store {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}
