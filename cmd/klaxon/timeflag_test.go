package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/schedule"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	for in, want := range map[string]time.Time{
		"now":                       now,
		"+2h":                       now.Add(2 * time.Hour),
		"-30m":                      now.Add(-30 * time.Minute),
		"+3d":                       now.Add(72 * time.Hour),
		"+1w":                       now.Add(7 * 24 * time.Hour),
		"2026-12-24T09:00":          time.Date(2026, 12, 24, 9, 0, 0, 0, ny),
		"2026-12-24T09:00:00+01:00": time.Date(2026, 12, 24, 8, 0, 0, 0, time.UTC),
	} {
		got, err := parseTime(in, now, ny)
		require.NoError(t, err, in)
		require.True(t, want.Equal(got), "%s: %s, want %s", in, got, want)
	}
	for _, in := range []string{"", "tomorrow", "+", "+3x", "2h", "2026-12-24", "24/12/2026 09:00"} {
		_, err := parseTime(in, now, ny)
		require.EqualError(t, err, `time "`+in+`": want now, +2h, -30m, +3d, 2026-12-24T09:00 or RFC 3339`)
	}
	// A wall time that repeats or that clocks skip means what it means in
	// the schedule's file: the first occurrence, the end of the gap.
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	for _, c := range []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		{"2026-10-25T02:30", berlin, time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)}, // 02:30+02:00, before clocks go back
		{"2026-03-29T02:30", berlin, time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},   // 03:00+02:00, the gap's end
		{"2026-03-08T02:30", ny, time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},        // 03:00-04:00, the gap's end
	} {
		got, err := parseTime(c.in, now, c.loc)
		require.NoError(t, err, c.in)
		require.True(t, c.want.Equal(got), "%s in %s: %s, want %s", c.in, c.loc, got.UTC(), c.want)
		wall, ok := schedule.WallTime(c.in, c.loc)
		require.True(t, ok)
		require.True(t, wall.Equal(got), "as the schedule reads it")
	}

	f := newTimeFlag(now, "")
	require.False(t, f.isSet())
	require.Error(t, f.Set("tomorrow"))
	require.NoError(t, f.Set("2026-12-24T09:00"))
	require.True(t, f.wall())
	require.NoError(t, f.Set("+3d"))
	require.False(t, f.wall())
}
