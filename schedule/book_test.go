package schedule_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/schedule"
)

// storedOverrides is an override store: the overrides of each schedule,
// and an error to fail with.
type storedOverrides struct {
	by  map[string][]klaxon.Override
	err error
}

func (s storedOverrides) Overrides(_ context.Context, name string, now time.Time) ([]klaxon.Override, error) {
	var out []klaxon.Override
	for _, o := range s.by[name] {
		if o.To.After(now) {
			out = append(out, o)
		}
	}
	return out, s.err
}

func TestBook(t *testing.T) {
	s := mustNew(t, exampleSpec())
	ny := s.Location()
	at := wall(t, ny, "2026-01-07 21:00") // alice's week, after the weekday layer's hours
	stored := storedOverrides{by: map[string][]klaxon.Override{
		"payments-primary": {{Schedule: "payments-primary", User: "erin", From: wall(t, ny, "2026-01-07 20:00"), To: wall(t, ny, "2026-01-07 22:00")}},
	}}
	schedules := map[string]*schedule.Schedule{"payments-primary": s, "db": s}
	ctx := t.Context()

	t.Run("runtime overrides on top of the files", func(t *testing.T) {
		b := schedule.NewBook(schedules, stored)
		got, err := b.OnCall(ctx, "payments-primary", at)
		require.NoError(t, err)
		require.Equal(t, []string{"erin"}, got)
		got, err = b.OnCall(ctx, "db", at)
		require.NoError(t, err)
		require.Equal(t, []string{"alice"}, got, "the override is of the other schedule")

		shifts, err := b.Shifts(ctx, "payments-primary", wall(t, ny, "2026-01-07 19:00"), wall(t, ny, "2026-01-07 23:00"))
		require.NoError(t, err)
		require.Equal(t, s.Shifts(wall(t, ny, "2026-01-07 19:00"), wall(t, ny, "2026-01-07 23:00"),
			schedule.Override{User: "erin", From: wall(t, ny, "2026-01-07 20:00"), To: wall(t, ny, "2026-01-07 22:00")}), shifts)
	})
	t.Run("without an override store: the files alone", func(t *testing.T) {
		got, err := schedule.NewBook(schedules, nil).OnCall(ctx, "payments-primary", at)
		require.NoError(t, err)
		require.Equal(t, []string{"alice"}, got)
	})
	t.Run("an override of a user the book does not know counts for nothing", func(t *testing.T) {
		b := schedule.NewBook(schedules, stored).KnownUsers(func(id string) bool { return id != "erin" })
		got, err := b.OnCall(ctx, "payments-primary", at)
		require.NoError(t, err)
		require.Equal(t, []string{"alice"}, got, "the rotation shows through")
		from, to := wall(t, ny, "2026-01-07 19:00"), wall(t, ny, "2026-01-07 23:00")
		shifts, err := b.Shifts(ctx, "payments-primary", from, to)
		require.NoError(t, err)
		require.Equal(t, s.Shifts(from, to), shifts)
		tl, err := b.Timeline(ctx, "payments-primary", from, to)
		require.NoError(t, err)
		require.Equal(t, s.Shifts(from, to), tl.Final)
		require.Len(t, tl.Runtime, 1, "still listed, to be seen and deleted")
	})
	t.Run("no such schedule", func(t *testing.T) {
		_, err := schedule.NewBook(schedules, stored).OnCall(ctx, "nope", at)
		require.ErrorIs(t, err, klaxon.ErrNotFound)
		_, ok := schedule.NewBook(schedules, stored).Schedule("nope")
		require.False(t, ok)
	})
	t.Run("the store fails", func(t *testing.T) {
		down := errors.New("store down")
		_, err := schedule.NewBook(schedules, storedOverrides{err: down}).OnCall(ctx, "db", at)
		require.ErrorIs(t, err, down)
	})
	t.Run("names, sorted", func(t *testing.T) {
		require.Equal(t, []string{"db", "payments-primary"}, schedule.NewBook(schedules, nil).Names())
	})
}
