package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// RunOverrides is the contract of klaxon.OverrideStore. newStore returns a
// fresh, empty store for one test.
func RunOverrides(t *testing.T, newStore func(t *testing.T) klaxon.OverrideStore) {
	at := time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)
	ov := func(schedule, user string, from, to time.Duration) klaxon.Override {
		return klaxon.Override{Schedule: schedule, User: user, From: at.Add(from), To: at.Add(to), By: "ops"}
	}

	t.Run("put lists by start and gives unique IDs", func(t *testing.T) {
		s := newStore(t)
		b, err := s.PutOverride(t.Context(), ov("primary", "bob", 2*time.Hour, 3*time.Hour), at)
		require.NoError(t, err)
		a, err := s.PutOverride(t.Context(), ov("primary", "alice", 0, time.Hour), at)
		require.NoError(t, err)
		_, err = s.PutOverride(t.Context(), ov("secondary", "carol", 0, time.Hour), at)
		require.NoError(t, err)
		require.NotEmpty(t, a.ID)
		require.NotEqual(t, a.ID, b.ID)

		got, err := s.Overrides(t.Context(), "primary", at)
		require.NoError(t, err)
		require.Equal(t, []klaxon.Override{a, b}, got)
		all, err := s.Overrides(t.Context(), "", at)
		require.NoError(t, err)
		require.Len(t, all, 3)
	})

	t.Run("ended overrides are not listed", func(t *testing.T) {
		s := newStore(t)
		_, err := s.PutOverride(t.Context(), ov("primary", "alice", 0, time.Hour), at)
		require.NoError(t, err)
		got, err := s.Overrides(t.Context(), "primary", at.Add(time.Hour))
		require.NoError(t, err)
		require.Empty(t, got, "an override ends at its to")
	})

	t.Run("an override to come keeps those running", func(t *testing.T) {
		s := newStore(t)
		now, err := s.PutOverride(t.Context(), ov("primary", "alice", 0, time.Hour), at)
		require.NoError(t, err)
		later, err := s.PutOverride(t.Context(), ov("primary", "bob", 2*time.Hour, 3*time.Hour), at.Add(time.Minute))
		require.NoError(t, err)
		got, err := s.Overrides(t.Context(), "primary", at.Add(time.Minute))
		require.NoError(t, err)
		require.Equal(t, []klaxon.Override{now, later}, got, "adding bob's override must not drop alice's, running now")
	})

	t.Run("putting drops those ended", func(t *testing.T) {
		s := newStore(t)
		_, err := s.PutOverride(t.Context(), ov("primary", "alice", 0, time.Hour), at)
		require.NoError(t, err)
		later, err := s.PutOverride(t.Context(), ov("primary", "bob", 2*time.Hour, 3*time.Hour), at.Add(90*time.Minute))
		require.NoError(t, err)
		got, err := s.Overrides(t.Context(), "primary", at)
		require.NoError(t, err)
		require.Equal(t, []klaxon.Override{later}, got, "alice's ended before bob's was put, and is gone")
	})

	t.Run("delete", func(t *testing.T) {
		s := newStore(t)
		o, err := s.PutOverride(t.Context(), ov("primary", "alice", 0, time.Hour), at)
		require.NoError(t, err)
		require.ErrorIs(t, s.DeleteOverride(t.Context(), "secondary", o.ID), klaxon.ErrNotFound, "the ID is scoped by schedule")
		require.NoError(t, s.DeleteOverride(t.Context(), "primary", o.ID))
		require.ErrorIs(t, s.DeleteOverride(t.Context(), "primary", o.ID), klaxon.ErrNotFound)
		got, err := s.Overrides(t.Context(), "primary", at)
		require.NoError(t, err)
		require.Empty(t, got)
	})
}
