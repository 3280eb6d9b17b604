package schedule

import (
	"archive/zip"
	"io"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWallClockBruteForce checks reached and instantOf against a scan of
// every quarter hour of 2025–2027 in zones with unusual rules: half-hour
// and 45-minute offsets, half-hour DST, negative DST (Dublin), changes at
// midnight (Santiago), several changes a year (Casablanca); and of the
// years around a one-off change that set clocks back (Metlakatla's return
// to Alaska time, Ciudad Juárez's to Mountain time). Each zone is read
// from the system's zone data and from Go's compact data (compactZone),
// which the binary carries for a host without any.
func TestWallClockBruteForce(t *testing.T) {
	for _, c := range []struct {
		zone     string
		from, to int
	}{
		{"America/New_York", 2025, 2028}, {"Europe/Berlin", 2025, 2028}, {"Australia/Lord_Howe", 2025, 2028},
		{"Asia/Kolkata", 2025, 2028}, {"America/St_Johns", 2025, 2028}, {"Pacific/Chatham", 2025, 2028},
		{"Europe/Dublin", 2025, 2028}, {"America/Santiago", 2025, 2028}, {"Africa/Casablanca", 2025, 2028},
		{"UTC", 2025, 2028}, {"America/Metlakatla", 2018, 2020}, {"America/Ciudad_Juarez", 2022, 2024},
	} {
		system, err := time.LoadLocation(c.zone)
		require.NoError(t, err)
		for data, loc := range map[string]*time.Location{"system": system, "compact": compactZone(t, c.zone)} {
			t.Run(c.zone+"/"+data, func(t *testing.T) {
				t.Parallel()
				scanWallClock(t, loc, time.Date(c.from, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(c.to, 1, 1, 0, 0, 0, 0, time.UTC))
			})
		}
	}
}

// scanWallClock checks reached and instantOf at every quarter hour from
// start to end in loc.
func scanWallClock(t *testing.T, loc *time.Location, start, end time.Time) {
	const step = 15 * 60
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
}

// compactZone loads zone from Go's own zone data (lib/time/zoneinfo.zip,
// which time/tzdata embeds): its files list fewer changes than the
// system's, and leave those after the last to the zone's rule.
func compactZone(t *testing.T, zone string) *time.Location {
	t.Helper()
	z, err := zip.OpenReader(filepath.Join(runtime.GOROOT(), "lib", "time", "zoneinfo.zip"))
	require.NoError(t, err)
	defer z.Close()
	f, err := z.Open(zone)
	require.NoError(t, err)
	defer f.Close()
	data, err := io.ReadAll(f)
	require.NoError(t, err)
	loc, err := time.LoadLocationFromTZData(zone, data)
	require.NoError(t, err)
	return loc
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
