package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWallClockBruteForce checks reached and instantOf against a scan of
// every quarter hour of 2025–2027 in zones with unusual rules: half-hour
// and 45-minute offsets, half-hour DST, negative DST (Dublin), changes at
// midnight (Santiago), several changes a year (Casablanca).
func TestWallClockBruteForce(t *testing.T) {
	for _, zone := range []string{
		"America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata",
		"America/St_Johns", "Pacific/Chatham", "Europe/Dublin", "America/Santiago",
		"Africa/Casablanca", "UTC",
	} {
		t.Run(zone, func(t *testing.T) {
			t.Parallel()
			loc, err := time.LoadLocation(zone)
			require.NoError(t, err)
			const step = 15 * 60
			start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			end := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
			var max int64 // latest reading seen, from the zone's own fields
			for tm := start; tm.Before(end); tm = tm.Add(step * time.Second) {
				lt := tm.In(loc)
				y, m, d := lt.Date()
				r := time.Date(y, m, d, lt.Hour(), lt.Minute(), 0, 0, time.UTC).Unix()
				if tm.Equal(start) {
					max = r
				}
				// Every quarter hour first reached now starts here.
				for x := max + step; x <= r; x += step {
					if got := instantOf(local(x), loc); got.Unix() != tm.Unix() {
						require.Equal(t, tm, got, "instantOf %s", time.Unix(x, 0).UTC().Format("2006-01-02T15:04"))
					}
				}
				if r > max {
					max = r
				}
				// reached is exact to the second: the last second before
				// clocks are set back, where this scan sees its quarter hour.
				if got := floorDiv(int64(reached(tm, loc)), step) * step; got != max {
					require.Equal(t, max, got, "reached at %s", lt)
				}
			}
		})
	}
}

func TestParseClock(t *testing.T) {
	for _, tc := range []struct {
		in      string
		allow24 bool
		want    int64
		ok      bool
	}{
		{"00:00", false, 0, true},
		{"09:30", false, 9*3600 + 30*60, true},
		{"23:59", false, 23*3600 + 59*60, true},
		{"24:00", true, 86400, true},
		{"24:00", false, 0, false},
		{"24:01", true, 0, false},
		{"9:00", false, 0, false},
		{"09:60", false, 0, false},
		{"+9:00", false, 0, false},
		{"09:-1", false, 0, false},
		{"0900", false, 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseClock(tc.in, tc.allow24)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}
