package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// testMaintenance is the contract of klaxon.MaintenanceStore: windows
// listed by start with unique IDs, gone once ended or ended by hand, and
// kept across a reopen.
func testMaintenance(t *testing.T, open func() klaxon.Store) {
	s := connect(t, open)
	ctx := t.Context()
	at := time.Date(2026, 12, 24, 2, 0, 0, 0, time.UTC)
	mw := func(matcher string, from, to time.Duration) klaxon.Maintenance {
		return klaxon.Maintenance{Matchers: []string{matcher}, From: at.Add(from), To: at.Add(to), By: "ops", Comment: "upgrade"}
	}
	later, err := s.PutMaintenance(ctx, mw(`service="db"`, time.Hour, 2*time.Hour), at)
	require.NoError(t, err)
	now, err := s.PutMaintenance(ctx, mw(`service="cache"`, 0, time.Hour), at)
	require.NoError(t, err)
	require.NotEmpty(t, now.ID)
	require.NotEqual(t, now.ID, later.ID)

	got, err := s.Maintenances(ctx, at)
	require.NoError(t, err)
	require.Equal(t, []klaxon.Maintenance{now, later}, roundTimes(got))

	got, err = s.Maintenances(ctx, at.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, []klaxon.Maintenance{later}, roundTimes(got), "a window ends at its to")

	require.NoError(t, s.EndMaintenance(ctx, later.ID))
	require.ErrorIs(t, s.EndMaintenance(ctx, later.ID), klaxon.ErrNotFound)
	got, err = s.Maintenances(ctx, at)
	require.NoError(t, err)
	require.Equal(t, []klaxon.Maintenance{now}, roundTimes(got))

	require.NoError(t, s.Close())
	s = connect(t, open)
	got, err = s.Maintenances(ctx, at)
	require.NoError(t, err)
	require.Equal(t, []klaxon.Maintenance{now}, roundTimes(got))
}

// roundTimes puts the times of ms in UTC, as they were stored.
func roundTimes(ms []klaxon.Maintenance) []klaxon.Maintenance {
	for i := range ms {
		ms[i].From, ms[i].To = ms[i].From.UTC(), ms[i].To.UTC()
	}
	return ms
}
