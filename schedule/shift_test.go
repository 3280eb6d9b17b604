package schedule_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/schedule"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), got)
}

func formatShifts(shifts []schedule.Shift, loc *time.Location) string {
	var b strings.Builder
	for _, sh := range shifts {
		fmt.Fprintf(&b, "%s – %s  %5.1fh  %s\n", sh.Start.In(loc).Format("Mon 2006-01-02 15:04 MST"),
			sh.End.In(loc).Format("Mon 2006-01-02 15:04 MST"), sh.End.Sub(sh.Start).Hours(), sh.User)
	}
	return b.String()
}

func TestShiftsExample(t *testing.T) {
	s := mustNew(t, exampleSpec())
	ny := s.Location()
	for _, tc := range []struct {
		name, golden string
		from, to     string
		extra        []schedule.Override
	}{
		{"first four weeks", "shifts_example_january.golden", "2026-01-05 00:00", "2026-02-02 00:00", nil},
		{"four weeks over spring forward", "shifts_example_march.golden", "2026-02-23 00:00", "2026-03-23 00:00", nil},
		{"christmas override, and a runtime one that the same user continues", "shifts_example_christmas.golden",
			"2026-12-21 00:00", "2026-12-29 00:00", []schedule.Override{{
				User: "carol", From: wall(t, ny, "2026-12-23 12:00"), To: wall(t, ny, "2026-12-23 18:00"),
			}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, to := wall(t, ny, tc.from), wall(t, ny, tc.to)
			shifts := s.Shifts(from, to, tc.extra...)
			golden(t, tc.golden, formatShifts(shifts, ny))

			// The shifts tile the window, and agree with OnCall.
			at := from
			for i, sh := range shifts {
				require.True(t, sh.Start.Equal(at), "shift %d starts at %s, want %s", i, sh.Start, at)
				require.True(t, sh.End.After(sh.Start))
				require.Equal(t, []string{sh.User}, s.OnCall(sh.Start, tc.extra...))
				require.Equal(t, []string{sh.User}, s.OnCall(sh.End.Add(-time.Minute), tc.extra...))
				if i > 0 {
					require.NotEqual(t, shifts[i-1].User, sh.User, "shift %d should be merged with the one before", i)
				}
				at = sh.End
			}
			require.True(t, at.Equal(to))
			require.Empty(t, s.Gaps(from, to, tc.extra...))
		})
	}
}

func TestShiftsOverlappingOverrides(t *testing.T) {
	s := mustNew(t, exampleSpec())
	ny := s.Location()
	extra := []schedule.Override{
		{User: "erin", From: wall(t, ny, "2026-01-07 20:00"), To: wall(t, ny, "2026-01-07 23:00")},
		{User: "dave", From: wall(t, ny, "2026-01-07 21:00"), To: wall(t, ny, "2026-01-08 01:00")},
	}
	shifts := s.Shifts(wall(t, ny, "2026-01-07 18:00"), wall(t, ny, "2026-01-08 02:00"), extra...)
	require.Equal(t, strings.Join([]string{
		"Wed 2026-01-07 18:00 EST – Wed 2026-01-07 20:00 EST    2.0h  alice",
		"Wed 2026-01-07 20:00 EST – Wed 2026-01-07 23:00 EST    3.0h  erin",
		"Wed 2026-01-07 21:00 EST – Thu 2026-01-08 01:00 EST    4.0h  dave",
		"Thu 2026-01-08 01:00 EST – Thu 2026-01-08 02:00 EST    1.0h  alice",
	}, "\n")+"\n", formatShifts(shifts, ny))
}

// gappySpec covers weekdays 09:00–17:00 and Saturdays 09:00–21:00 only.
func gappySpec() schedule.Spec {
	return schedule.Spec{
		Name:     "office-hours",
		TimeZone: "America/New_York",
		Layers: []schedule.LayerSpec{
			{
				Name:     "weekdays",
				Rotation: schedule.RotationSpec{Every: "1w", Handoff: "2026-01-05T09:00"},
				Members:  []string{"alice", "bob"},
				Restrict: []schedule.RestrictSpec{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "09:00", To: "17:00"}},
			},
			{
				Name:     "saturday",
				Rotation: schedule.RotationSpec{Every: "1d", Handoff: "2026-01-05T09:00"},
				Members:  []string{"carol"},
				Restrict: []schedule.RestrictSpec{{Days: []string{"sat"}, From: "09:00", To: "21:00"}},
			},
		},
	}
}

func TestGaps(t *testing.T) {
	s := mustNew(t, gappySpec())
	ny := s.Location()
	for _, tc := range []struct {
		name     string
		from, to string
		extra    []schedule.Override
		want     []string
	}{
		{"a week, clipped to the window", "2026-01-05 00:00", "2026-01-12 00:00", nil, []string{
			"nobody on call Mon 00:00–09:00 America/New_York",
			"nobody on call Mon 17:00–Tue 09:00 America/New_York",
			"nobody on call Tue 17:00–Wed 09:00 America/New_York",
			"nobody on call Wed 17:00–Thu 09:00 America/New_York",
			"nobody on call Thu 17:00–Fri 09:00 America/New_York",
			"nobody on call Fri 17:00–Sat 09:00 America/New_York",
			"nobody on call Sat 21:00–Mon 00:00 America/New_York",
		}},
		{"an override fills part of a gap", "2026-01-09 12:00", "2026-01-10 12:00",
			[]schedule.Override{{User: "dave", From: wall(t, ny, "2026-01-09 20:00"), To: wall(t, ny, "2026-01-10 02:00")}},
			[]string{
				"nobody on call Fri 17:00–20:00 America/New_York",
				"nobody on call Sat 02:00–09:00 America/New_York",
			}},
		{"inside a gap", "2026-01-06 18:00", "2026-01-06 19:00", nil, []string{
			"nobody on call Tue 18:00–19:00 America/New_York",
		}},
		{"no gap", "2026-01-06 10:00", "2026-01-06 16:00", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, g := range s.Gaps(wall(t, ny, tc.from), wall(t, ny, tc.to), tc.extra...) {
				got = append(got, schedule.FormatGap(g, ny))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestGapAcrossSpringForward(t *testing.T) {
	s := mustNew(t, gappySpec())
	ny := s.Location()
	gaps := s.Gaps(wall(t, ny, "2026-03-07 12:00"), wall(t, ny, "2026-03-09 12:00"))
	require.Len(t, gaps, 1)
	require.Equal(t, "nobody on call Sat 21:00–Mon 09:00 America/New_York", schedule.FormatGap(gaps[0], ny))
	require.Equal(t, 35*time.Hour, gaps[0].End.Sub(gaps[0].Start), "one hour shorter than on the wall clock")
}

func TestFormatGap(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	berlin := mustLoad(t, "Europe/Berlin")
	for _, tc := range []struct {
		name     string
		from, to string // America/New_York
		loc      *time.Location
		want     string
	}{
		{"within a day", "2026-01-10 00:00", "2026-01-10 09:00", ny, "nobody on call Sat 00:00–09:00 America/New_York"},
		{"over a night", "2026-01-05 17:00", "2026-01-06 09:00", ny, "nobody on call Mon 17:00–Tue 09:00 America/New_York"},
		{"over a weekend", "2026-01-09 17:00", "2026-01-12 09:00", ny, "nobody on call Fri 17:00–Mon 09:00 America/New_York"},
		{"to midnight", "2026-01-10 21:00", "2026-01-11 00:00", ny, "nobody on call Sat 21:00–24:00 America/New_York"},
		{"a whole day", "2026-01-10 00:00", "2026-01-11 00:00", ny, "nobody on call Sat 00:00–24:00 America/New_York"},
		{"five days", "2026-01-05 00:00", "2026-01-10 00:00", ny, "nobody on call Mon 00:00–Sat 00:00 America/New_York"},
		{"a week or more gives dates", "2026-01-05 09:00", "2026-01-12 09:00", ny,
			"nobody on call Mon 2026-01-05 09:00–Mon 2026-01-12 09:00 America/New_York"},
		{"in another zone", "2026-01-10 00:00", "2026-01-10 09:00", berlin, "nobody on call Sat 06:00–15:00 Europe/Berlin"},
		{"no zone is UTC", "2026-01-10 00:00", "2026-01-10 09:00", nil, "nobody on call Sat 05:00–14:00 UTC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := schedule.Gap{Start: wall(t, ny, tc.from), End: wall(t, ny, tc.to)}
			require.Equal(t, tc.want, schedule.FormatGap(g, tc.loc))
		})
	}
}
