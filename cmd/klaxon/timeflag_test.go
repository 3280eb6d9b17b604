package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
	f := newTimeFlag(now, "")
	require.False(t, f.isSet())
	require.Error(t, f.Set("tomorrow"))
	require.NoError(t, f.Set("2026-12-24T09:00"))
	require.True(t, f.wall())
	require.NoError(t, f.Set("+3d"))
	require.False(t, f.wall())
}
