package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/schedule"
	"github.com/stretchr/testify/require"
)

// formatLayers renders each layer as its name and then its shifts, as
// formatShifts does.
func formatLayers(layers []schedule.LayerShifts, loc *time.Location) string {
	var b strings.Builder
	for _, l := range layers {
		fmt.Fprintf(&b, "%s:\n%s", l.Name, formatShifts(l.Shifts, loc))
	}
	return b.String()
}

func lines(s ...string) string { return strings.Join(s, "\n") + "\n" }

// requireInLocation checks that every shift's times are in loc.
func requireInLocation(t *testing.T, layers []schedule.LayerShifts, loc *time.Location) {
	t.Helper()
	for _, l := range layers {
		for _, sh := range l.Shifts {
			require.Equal(t, loc, sh.Start.Location(), "%s: %v", l.Name, sh)
			require.Equal(t, loc, sh.End.Location(), "%s: %v", l.Name, sh)
		}
	}
}

func TestLayerShifts(t *testing.T) {
	s := mustNew(t, exampleSpec())
	ny := s.Location()
	for _, tc := range []struct {
		name     string
		from, to string // America/New_York
		want     string
	}{
		{"a week: the weekday layer inside its hours", "2026-01-05 00:00", "2026-01-12 00:00", lines(
			"weekly:",
			"Mon 2026-01-05 00:00 EST – Mon 2026-01-05 09:00 EST    9.0h  carol",
			"Mon 2026-01-05 09:00 EST – Mon 2026-01-12 00:00 EST  159.0h  alice",
			"weekday-days:",
			"Mon 2026-01-05 09:00 EST – Mon 2026-01-05 17:00 EST    8.0h  dave",
			"Tue 2026-01-06 09:00 EST – Tue 2026-01-06 17:00 EST    8.0h  erin",
			"Wed 2026-01-07 09:00 EST – Wed 2026-01-07 17:00 EST    8.0h  dave",
			"Thu 2026-01-08 09:00 EST – Thu 2026-01-08 17:00 EST    8.0h  erin",
			"Fri 2026-01-09 09:00 EST – Fri 2026-01-09 17:00 EST    8.0h  dave",
		)},
		{"clipped at both edges", "2026-01-06 12:00", "2026-01-08 10:00", lines(
			"weekly:",
			"Tue 2026-01-06 12:00 EST – Thu 2026-01-08 10:00 EST   46.0h  alice",
			"weekday-days:",
			"Tue 2026-01-06 12:00 EST – Tue 2026-01-06 17:00 EST    5.0h  erin",
			"Wed 2026-01-07 09:00 EST – Wed 2026-01-07 17:00 EST    8.0h  dave",
			"Thu 2026-01-08 09:00 EST – Thu 2026-01-08 10:00 EST    1.0h  erin",
		)},
		{"a weekend: nobody in the weekday layer, and the window's end is exclusive", "2026-01-10 00:00", "2026-01-12 09:00", lines(
			"weekly:",
			"Sat 2026-01-10 00:00 EST – Mon 2026-01-12 09:00 EST   57.0h  alice",
			"weekday-days:",
		)},
		{"the overrides change nothing", "2026-12-24 08:00", "2026-12-24 18:00", lines(
			"weekly:",
			"Thu 2026-12-24 08:00 EST – Thu 2026-12-24 18:00 EST   10.0h  carol",
			"weekday-days:",
			"Thu 2026-12-24 09:00 EST – Thu 2026-12-24 17:00 EST    8.0h  erin", // day 353
		)},
		{"a century on: week 5218 is bob's, day 36526 dave's", "2126-01-07 08:00", "2126-01-07 18:00", lines(
			"weekly:",
			"Mon 2126-01-07 08:00 EST – Mon 2126-01-07 09:00 EST    1.0h  alice",
			"Mon 2126-01-07 09:00 EST – Mon 2126-01-07 18:00 EST    9.0h  bob",
			"weekday-days:",
			"Mon 2126-01-07 09:00 EST – Mon 2126-01-07 17:00 EST    8.0h  dave",
		)},
		{"an empty window", "2026-01-06 12:00", "2026-01-06 12:00", lines("weekly:", "weekday-days:")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := s.LayerShifts(wall(t, ny, tc.from), wall(t, ny, tc.to))
			require.Equal(t, tc.want, formatLayers(got, ny))
			requireInLocation(t, got, ny)
		})
	}
}

func TestLayerShiftsNames(t *testing.T) {
	rot := schedule.RotationSpec{Every: "1d", Handoff: "2026-01-05T09:00"}
	s := mustNew(t, schedule.Spec{
		Name:     "labels",
		TimeZone: "UTC",
		Layers: []schedule.LayerSpec{
			{Rotation: rot, Members: []string{"alice"}},
			{Name: "days", Rotation: rot, Members: []string{"bob"}},
			{Rotation: rot, Members: []string{"carol"}},
		},
	})
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	got := s.LayerShifts(from, from.Add(time.Hour))
	require.Equal(t, lines(
		"layer 1:",
		"Mon 2026-01-05 00:00 UTC – Mon 2026-01-05 01:00 UTC    1.0h  alice",
		"days:",
		"Mon 2026-01-05 00:00 UTC – Mon 2026-01-05 01:00 UTC    1.0h  bob",
		"layer 3:",
		"Mon 2026-01-05 00:00 UTC – Mon 2026-01-05 01:00 UTC    1.0h  carol",
	), formatLayers(got, time.UTC))
}

// dstSpec has a daily rotation, a nightly window and an hourly rotation
// in America/New_York, whose shifts cross both changes of 2026.
func dstSpec() schedule.Spec {
	return schedule.Spec{
		Name:     "dst",
		TimeZone: "America/New_York",
		Layers: []schedule.LayerSpec{
			{
				Name:     "daily",
				Rotation: schedule.RotationSpec{Every: "1d", Handoff: "2026-03-01T09:00"},
				Members:  []string{"ann", "ben"},
			},
			{
				Name:     "nights",
				Rotation: schedule.RotationSpec{Every: "1w", Handoff: "2026-03-01T01:00"},
				Members:  []string{"nia"},
				Restrict: []schedule.RestrictSpec{{From: "01:00", To: "04:00"}},
			},
			{
				Name:     "half-days",
				Rotation: schedule.RotationSpec{Every: "12h", Handoff: "2026-03-01T09:00"},
				Members:  []string{"hal", "ivy"},
			},
		},
	}
}

func TestLayerShiftsDST(t *testing.T) {
	s := mustNew(t, dstSpec())
	ny := s.Location()
	for _, tc := range []struct {
		name     string
		from, to string // America/New_York
		want     string
	}{
		{"spring forward, 2026-03-08 02:00 EST to 03:00 EDT", "2026-03-07 00:00", "2026-03-09 00:00", lines(
			"daily:",
			"Sat 2026-03-07 00:00 EST – Sat 2026-03-07 09:00 EST    9.0h  ben",
			"Sat 2026-03-07 09:00 EST – Sun 2026-03-08 09:00 EDT   23.0h  ann",
			"Sun 2026-03-08 09:00 EDT – Mon 2026-03-09 00:00 EDT   15.0h  ben",
			"nights:",
			"Sat 2026-03-07 01:00 EST – Sat 2026-03-07 04:00 EST    3.0h  nia",
			"Sun 2026-03-08 01:00 EST – Sun 2026-03-08 04:00 EDT    2.0h  nia",
			"half-days:",
			"Sat 2026-03-07 00:00 EST – Sat 2026-03-07 09:00 EST    9.0h  ivy",
			"Sat 2026-03-07 09:00 EST – Sat 2026-03-07 21:00 EST   12.0h  hal",
			"Sat 2026-03-07 21:00 EST – Sun 2026-03-08 10:00 EDT   12.0h  ivy",
			"Sun 2026-03-08 10:00 EDT – Sun 2026-03-08 22:00 EDT   12.0h  hal",
			"Sun 2026-03-08 22:00 EDT – Mon 2026-03-09 00:00 EDT    2.0h  ivy",
		)},
		{"fall back, 2026-11-01 02:00 EDT to 01:00 EST", "2026-10-31 00:00", "2026-11-02 00:00", lines(
			"daily:",
			"Sat 2026-10-31 00:00 EDT – Sat 2026-10-31 09:00 EDT    9.0h  ben",
			"Sat 2026-10-31 09:00 EDT – Sun 2026-11-01 09:00 EST   25.0h  ann",
			"Sun 2026-11-01 09:00 EST – Mon 2026-11-02 00:00 EST   15.0h  ben",
			"nights:",
			"Sat 2026-10-31 01:00 EDT – Sat 2026-10-31 04:00 EDT    3.0h  nia",
			"Sun 2026-11-01 01:00 EDT – Sun 2026-11-01 04:00 EST    4.0h  nia",
			"half-days:",
			"Sat 2026-10-31 00:00 EDT – Sat 2026-10-31 10:00 EDT   10.0h  ivy",
			"Sat 2026-10-31 10:00 EDT – Sat 2026-10-31 22:00 EDT   12.0h  hal",
			"Sat 2026-10-31 22:00 EDT – Sun 2026-11-01 09:00 EST   12.0h  ivy",
			"Sun 2026-11-01 09:00 EST – Sun 2026-11-01 21:00 EST   12.0h  hal",
			"Sun 2026-11-01 21:00 EST – Mon 2026-11-02 00:00 EST    3.0h  ivy",
		)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := s.LayerShifts(wall(t, ny, tc.from), wall(t, ny, tc.to))
			require.Equal(t, tc.want, formatLayers(got, ny))
			requireInLocation(t, got, ny)
		})
	}
}

// TestLayerShiftsAgainstOnCall checks, minute by minute over fourteen days
// around each change of 2026, that a layer's shifts say what a schedule
// made of that layer alone has on call.
func TestLayerShiftsAgainstOnCall(t *testing.T) {
	layers := []schedule.LayerSpec{
		{
			Name:     "daily in the gap",
			Rotation: schedule.RotationSpec{Every: "1d", Handoff: "2026-01-01T02:30"},
			Members:  []string{"a", "b", "c"},
		},
		{
			Name:     "weekend nights",
			Rotation: schedule.RotationSpec{Every: "12h", Handoff: "2026-01-01T01:30"},
			Members:  []string{"d", "e"},
			Restrict: []schedule.RestrictSpec{{Days: []string{"sat", "sun"}, From: "22:00", To: "03:00"}},
		},
		{
			Name:     "always one",
			Rotation: schedule.RotationSpec{Every: "1w", Handoff: "2026-01-04T00:00"},
			Members:  []string{"f"},
			Restrict: []schedule.RestrictSpec{{From: "00:00", To: "24:00"}},
		},
	}
	windows := map[string][]string{ // the days the changes of 2026 fall in
		"America/New_York":    {"2026-03-01", "2026-10-20"},
		"Europe/Berlin":       {"2026-03-22", "2026-10-20"},
		"Australia/Lord_Howe": {"2026-03-29", "2026-09-28"},
		"Asia/Kolkata":        {"2026-03-01"},
	}
	for _, zone := range dstZones {
		spec := schedule.Spec{Name: "all", TimeZone: zone, Layers: layers}
		s := mustNew(t, spec)
		loc := s.Location()
		for _, day := range windows[zone] {
			from := wall(t, loc, day+" 05:17")
			to := from.AddDate(0, 0, 14)
			got := s.LayerShifts(from, to)
			require.Len(t, got, len(layers))
			for i, ls := range layers {
				t.Run(fmt.Sprintf("%s from %s, %s", zone, day, ls.Name), func(t *testing.T) {
					alone := mustNew(t, schedule.Spec{Name: "alone", TimeZone: zone, Layers: []schedule.LayerSpec{ls}})
					shifts := got[i].Shifts
					require.Equal(t, ls.Name, got[i].Name)
					for j, sh := range shifts {
						require.True(t, sh.Start.Before(sh.End), "shift %d is empty", j)
						require.False(t, sh.Start.Before(from), "shift %d starts before the window", j)
						require.False(t, sh.End.After(to), "shift %d ends after the window", j)
						if j > 0 {
							prev := shifts[j-1]
							require.False(t, sh.Start.Before(prev.End), "shift %d overlaps the one before", j)
							require.False(t, prev.User == sh.User && prev.End.Equal(sh.Start), "shift %d should be merged with the one before", j)
						}
					}
					j := 0
					for at := from; at.Before(to); at = at.Add(time.Minute) {
						for j < len(shifts) && !at.Before(shifts[j].End) {
							j++
						}
						var want []string
						if j < len(shifts) && !at.Before(shifts[j].Start) {
							want = []string{shifts[j].User}
						}
						require.Equal(t, alone.OnCall(at), want, "at %s", at)
					}
					if ls.Name == "always one" {
						require.Len(t, shifts, 1, "touching windows of one member are one shift")
					}
				})
			}
		}
	}
}

func TestFileOverrides(t *testing.T) {
	spec := exampleSpec() // bob from 2026-12-24 to 2026-12-26
	spec.Overrides = append(spec.Overrides,
		schedule.OverrideSpec{User: "zed", From: "2026-12-20T00:00", To: "2026-12-21T00:00"},
		schedule.OverrideSpec{User: "amy", From: "2026-12-20T00:00", To: "2026-12-20T06:00"},
		schedule.OverrideSpec{User: "carol", From: "2026-12-27T00:00", To: "2026-12-28T00:00"},
	)
	s := mustNew(t, spec)
	ny := s.Location()
	for _, tc := range []struct {
		name     string
		from, to string // America/New_York
		want     []string
	}{
		{"a week, by start then user", "2026-12-20 05:00", "2026-12-27 12:00", []string{
			"amy 2026-12-20 00:00 EST – 2026-12-20 06:00 EST",
			"zed 2026-12-20 00:00 EST – 2026-12-21 00:00 EST",
			"bob 2026-12-24 00:00 EST – 2026-12-26 00:00 EST",
			"carol 2026-12-27 00:00 EST – 2026-12-28 00:00 EST",
		}},
		{"one that ends where the window starts is out", "2026-12-21 00:00", "2026-12-22 00:00", nil},
		{"one that starts where the window ends is out", "2026-12-22 00:00", "2026-12-24 00:00", nil},
		{"one longer than the window is not clipped", "2026-12-25 00:00", "2026-12-25 06:00", []string{
			"bob 2026-12-24 00:00 EST – 2026-12-26 00:00 EST",
		}},
		{"the last minute of one", "2026-12-20 05:59", "2026-12-20 07:00", []string{
			"amy 2026-12-20 00:00 EST – 2026-12-20 06:00 EST",
			"zed 2026-12-20 00:00 EST – 2026-12-21 00:00 EST",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, o := range s.FileOverrides(wall(t, ny, tc.from), wall(t, ny, tc.to)) {
				require.Equal(t, ny, o.From.Location())
				got = append(got, fmt.Sprintf("%s %s – %s", o.User, o.From.Format("2006-01-02 15:04 MST"), o.To.Format("2006-01-02 15:04 MST")))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// countedOverrides is an override store that records when it was read.
type countedOverrides struct {
	storedOverrides
	asked []time.Time
}

func (c *countedOverrides) Overrides(ctx context.Context, name string, now time.Time) ([]klaxon.Override, error) {
	c.asked = append(c.asked, now)
	return c.storedOverrides.Overrides(ctx, name, now)
}

func TestBookTimeline(t *testing.T) {
	spec := exampleSpec()
	spec.Overrides = append(spec.Overrides, schedule.OverrideSpec{User: "carol", From: "2026-01-08T06:00", To: "2026-01-08T08:00"})
	s := mustNew(t, spec)
	ny := s.Location()
	from, to := wall(t, ny, "2026-01-07 12:00"), wall(t, ny, "2026-01-08 12:00")
	stored := []klaxon.Override{ // as a store returns them: in UTC
		{ID: "o0", Schedule: "payments-primary", User: "dave", From: wall(t, ny, "2026-01-06 00:00").UTC(), To: wall(t, ny, "2026-01-07 06:00").UTC(), By: "api"},
		{ID: "o1", Schedule: "payments-primary", User: "erin", From: wall(t, ny, "2026-01-07 20:00").UTC(), To: wall(t, ny, "2026-01-07 22:00").UTC(), By: "console:alice"},
		{ID: "o2", Schedule: "payments-primary", User: "bob", From: wall(t, ny, "2026-01-09 00:00").UTC(), To: wall(t, ny, "2026-01-09 06:00").UTC(), By: "api"},
	}
	schedules := map[string]*schedule.Schedule{"payments-primary": s}
	ctx := t.Context()

	t.Run("layers, both kinds of overrides, and the result", func(t *testing.T) {
		store := &countedOverrides{storedOverrides: storedOverrides{by: map[string][]klaxon.Override{"payments-primary": stored}}}
		got, err := schedule.NewBook(schedules, store).Timeline(ctx, "payments-primary", from, to)
		require.NoError(t, err)
		require.Equal(t, []time.Time{from}, store.asked, "the store is read once, for the overrides not ended at from")

		require.Equal(t, lines(
			"weekly:",
			"Wed 2026-01-07 12:00 EST – Thu 2026-01-08 12:00 EST   24.0h  alice",
			"weekday-days:",
			"Wed 2026-01-07 12:00 EST – Wed 2026-01-07 17:00 EST    5.0h  dave",
			"Thu 2026-01-08 09:00 EST – Thu 2026-01-08 12:00 EST    3.0h  erin",
		), formatLayers(got.Layers, ny))
		require.Equal(t, []schedule.Override{
			{User: "carol", From: wall(t, ny, "2026-01-08 06:00"), To: wall(t, ny, "2026-01-08 08:00")},
		}, got.FileOverrides)
		require.Equal(t, []klaxon.Override{
			{ID: "o1", Schedule: "payments-primary", User: "erin", From: wall(t, ny, "2026-01-07 20:00"), To: wall(t, ny, "2026-01-07 22:00"), By: "console:alice"},
		}, got.Runtime, "o2 starts after the window, o0 ended before it")
		require.Equal(t, lines(
			"Wed 2026-01-07 12:00 EST – Wed 2026-01-07 17:00 EST    5.0h  dave",
			"Wed 2026-01-07 17:00 EST – Wed 2026-01-07 20:00 EST    3.0h  alice",
			"Wed 2026-01-07 20:00 EST – Wed 2026-01-07 22:00 EST    2.0h  erin",
			"Wed 2026-01-07 22:00 EST – Thu 2026-01-08 06:00 EST    8.0h  alice",
			"Thu 2026-01-08 06:00 EST – Thu 2026-01-08 08:00 EST    2.0h  carol",
			"Thu 2026-01-08 08:00 EST – Thu 2026-01-08 09:00 EST    1.0h  alice",
			"Thu 2026-01-08 09:00 EST – Thu 2026-01-08 12:00 EST    3.0h  erin",
		), formatShifts(got.Final, ny))
	})
	t.Run("without an override store: the files alone", func(t *testing.T) {
		got, err := schedule.NewBook(schedules, nil).Timeline(ctx, "payments-primary", from, to)
		require.NoError(t, err)
		require.Nil(t, got.Runtime)
		require.Equal(t, s.Shifts(from, to), got.Final)
		require.Equal(t, s.LayerShifts(from, to), got.Layers)
		require.Len(t, got.FileOverrides, 1)
	})
	t.Run("no such schedule", func(t *testing.T) {
		_, err := schedule.NewBook(schedules, nil).Timeline(ctx, "nope", from, to)
		require.ErrorIs(t, err, klaxon.ErrNotFound)
		require.ErrorContains(t, err, "schedule nope")
	})
	t.Run("the store fails", func(t *testing.T) {
		down := errors.New("store down")
		_, err := schedule.NewBook(schedules, storedOverrides{err: down}).Timeline(ctx, "payments-primary", from, to)
		require.ErrorIs(t, err, down)
	})
}
