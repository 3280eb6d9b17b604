package review_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/review"
)

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		text string
		json string
	}{
		{0, "0s", "0"},
		{45 * time.Second, "45s", "45"},
		{4*time.Minute + 30*time.Second, "4m30s", "270"},
		{time.Hour, "1h", "3600"},
		{time.Hour + 5*time.Second, "1h5s", "3605"},
		{51*time.Hour + 2*time.Minute, "2d3h2m", "183720"},
		{1500 * time.Millisecond, "2s", "1.5"},
		{400 * time.Millisecond, "0s", "0.4"},
		{-90 * time.Second, "-1m30s", "-90"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			d := review.Duration(tc.d)
			require.Equal(t, tc.text, d.String())
			b, err := json.Marshal(d)
			require.NoError(t, err)
			require.Equal(t, tc.json, string(b))
			var back review.Duration
			require.NoError(t, json.Unmarshal(b, &back))
			require.Equal(t, d, back)
		})
	}
	var d review.Duration
	require.Error(t, json.Unmarshal([]byte(`"4m"`), &d))
}

func TestWorkHours(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	var w review.WorkHours // 09:00–18:00, Monday to Friday
	for _, tc := range []struct {
		name string
		at   time.Time
		want bool
	}{
		{"09:00 is in", time.Date(2026, 11, 2, 9, 0, 0, 0, berlin), true},
		{"a second before 09:00 is out", time.Date(2026, 11, 2, 8, 59, 59, 0, berlin), false},
		{"a second before 18:00 is in", time.Date(2026, 11, 6, 17, 59, 59, 0, berlin), true},
		{"18:00 is out", time.Date(2026, 11, 6, 18, 0, 0, 0, berlin), false},
		{"noon on Saturday is out", time.Date(2026, 11, 7, 12, 0, 0, 0, berlin), false},
		{"noon on Sunday is out", time.Date(2026, 11, 8, 12, 0, 0, 0, berlin), false},
		// The Monday after Berlin went to summer time: 09:00 CEST is
		// 07:00 UTC, by the wall clock.
		{"09:00 CEST is in", time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC).In(berlin), true},
		{"08:30 CEST is out", time.Date(2026, 3, 30, 6, 30, 0, 0, time.UTC).In(berlin), false},
		{"in UTC, by UTC's clock", time.Date(2026, 11, 2, 8, 30, 0, 0, time.UTC), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, w.Contains(tc.at))
		})
	}
	require.Equal(t, "09:00–18:00 Mon–Fri", w.String())
	require.Equal(t, "22:00–23:59:30 Sun", review.WorkHours{From: 22 * time.Hour, To: 24*time.Hour - 30*time.Second, Days: []time.Weekday{time.Sunday}}.String())
	night := review.WorkHours{From: 22 * time.Hour, To: 6 * time.Hour}
	require.False(t, night.Contains(time.Date(2026, 11, 2, 23, 0, 0, 0, time.UTC)), "To not after From: no work hours")
}
