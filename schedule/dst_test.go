package schedule_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/schedule"
	"github.com/stretchr/testify/require"
)

// The expectations below are computed from the local calendar date and
// wall-clock time that the zone database shows at each instant, with naive
// day counting on year/month/day, never with the code under test.

var dstZones = []string{"America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"}

// civilDay counts days from 1970-01-01 to y-m-d in the proleptic Gregorian
// calendar (H. Hinnant's days_from_civil).
func civilDay(y int, m time.Month, d int) int {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (int(m) + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func mod(a, b int) int { return a - floorDiv(a, b)*b }

// clockTracker follows the local wall clock at increasing instants and
// answers whether a wall-clock time has been shown yet on a day: a time
// repeated by a fall back counts from its first occurrence, and one skipped
// by a spring forward counts as passed once the clock is beyond it.
type clockTracker struct {
	day, max int // today, and the latest minute of the day shown so far
}

func (c *clockTracker) see(day, minute int) {
	if day != c.day {
		c.day, c.max = day, minute
		return
	}
	c.max = max(c.max, minute)
}

// reached reports whether minute of day has been shown by now.
func (c *clockTracker) reached(day, minute int) bool {
	return day < c.day || day == c.day && c.max >= minute
}

// year2026 calls fn for every quarter hour of 2026 in loc, with the local
// day number and minute of the day.
func year2026(loc *time.Location, fn func(t time.Time, lt time.Time, day, minute int)) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
	end := time.Date(2027, 1, 1, 0, 0, 0, 0, loc)
	for t := start; t.Before(end); t = t.Add(15 * time.Minute) {
		lt := t.In(loc)
		y, m, d := lt.Date()
		fn(t, lt, civilDay(y, m, d), lt.Hour()*60+lt.Minute())
	}
}

func TestRotationDSTBruteForce(t *testing.T) {
	rotations := []struct {
		name    string
		every   string
		days    int
		handoff string // date, and wall clock as HH:MM
		members []string
	}{
		{"daily 09:00", "1d", 1, "2026-01-05T09:00", []string{"a", "b", "c"}},
		{"weekly 09:00", "1w", 7, "2026-01-05T09:00", []string{"a", "b", "c", "d"}},
		{"daily 02:30 handed off mid-year", "1d", 1, "2026-06-15T02:30", []string{"a", "b", "c"}},
		{"weekly 02:30 on sundays", "1w", 7, "2026-03-01T02:30", []string{"a", "b", "c"}},
		{"every 3 days 02:00", "3d", 3, "2026-01-03T02:00", []string{"a", "b"}},
	}
	for _, zone := range dstZones {
		loc := mustLoad(t, zone)
		for _, r := range rotations {
			t.Run(zone+"/"+r.name, func(t *testing.T) {
				t.Parallel()
				s := mustNew(t, schedule.Spec{Name: "brute", TimeZone: zone, Layers: []schedule.LayerSpec{{
					Rotation: schedule.RotationSpec{Every: r.every, Handoff: r.handoff},
					Members:  r.members,
				}}})
				var hy, hd, hh, hm int
				var hmon time.Month
				_, err := fmt.Sscanf(r.handoff, "%4d-%2d-%2dT%2d:%2d", &hy, &hmon, &hd, &hh, &hm)
				require.NoError(t, err)
				anchor, handoff := civilDay(hy, hmon, hd), hh*60+hm

				var clock clockTracker
				var prev string
				var prevMinute, changes int
				year2026(loc, func(tm, lt time.Time, day, minute int) {
					clock.see(day, minute)
					days := day - anchor
					if !clock.reached(day, handoff) {
						days--
					}
					want := r.members[mod(floorDiv(days, r.days), len(r.members))]
					got := s.OnCall(tm)
					if len(got) != 1 || got[0] != want {
						require.Equal(t, []string{want}, got, "at %s", lt)
					}
					if prev != "" && want != prev {
						changes++
						require.Zero(t, mod(day-anchor, r.days), "change on a day that is no handoff, at %s", lt)
						skipped := prevMinute < handoff && minute > handoff // clocks jumped over the handoff
						require.True(t, minute == handoff || skipped, "change at %s, not at the handoff", lt)
					}
					prev, prevMinute = want, minute
				})
				var handoffs int
				for d := civilDay(2026, 1, 1); d < civilDay(2027, 1, 1); d++ {
					if mod(d-anchor, r.days) == 0 {
						handoffs++
					}
				}
				require.Equal(t, handoffs, changes)
			})
		}
	}
}

func TestRestrictionDSTBruteForce(t *testing.T) {
	type window struct {
		days     []string
		from, to string
	}
	cases := []struct {
		name    string
		windows []window
	}{
		{"business hours", []window{{[]string{"mon", "tue", "wed", "thu", "fri"}, "09:00", "17:00"}}},
		{"nights over midnight", []window{{[]string{"mon", "tue", "wed", "thu", "fri"}, "17:00", "09:00"}}},
		{"around the dst hours", []window{{[]string{"sun"}, "01:30", "02:30"}, {[]string{"sat"}, "23:00", "02:00"}}},
		{"whole days and 24h windows", []window{{[]string{"sat"}, "00:00", "24:00"}, {[]string{"sun"}, "02:15", "02:15"}}},
		{"every day, inside the dst hours", []window{{nil, "02:00", "03:00"}, {nil, "01:45", "02:15"}}},
		{"ending at midnight", []window{{[]string{"sun", "wed"}, "18:00", "00:00"}}},
	}
	dayIndex := map[string]time.Weekday{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
	minutes := func(s string) int {
		var h, m int
		_, err := fmt.Sscanf(s, "%2d:%2d", &h, &m)
		require.NoError(t, err)
		return h*60 + m
	}
	// expectation is a window in naive terms: the days it opens on, and
	// when it opens and closes, closing days after it opens.
	type expectation struct {
		days      [7]bool
		from, to  int
		closeDays int
	}
	expect := func(ws []window) []expectation {
		var es []expectation
		for _, w := range ws {
			e := expectation{from: minutes(w.from), to: minutes(w.to)}
			for _, name := range w.days {
				e.days[dayIndex[name]] = true
			}
			if len(w.days) == 0 {
				e.days = [7]bool{true, true, true, true, true, true, true}
			}
			if e.to <= e.from || e.to == 24*60 {
				e.closeDays, e.to = 1, e.to%(24*60)
			}
			es = append(es, e)
		}
		return es
	}
	for _, zone := range dstZones {
		loc := mustLoad(t, zone)
		for _, c := range cases {
			t.Run(zone+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				var restrict []schedule.RestrictSpec
				for _, w := range c.windows {
					restrict = append(restrict, schedule.RestrictSpec{Days: w.days, From: w.from, To: w.to})
				}
				s := mustNew(t, schedule.Spec{Name: "brute", TimeZone: zone, Layers: []schedule.LayerSpec{
					{Rotation: schedule.RotationSpec{Every: "1d", Handoff: "2026-01-01T00:00"}, Members: []string{"base"}},
					{Rotation: schedule.RotationSpec{Every: "1d", Handoff: "2026-01-01T00:00"}, Members: []string{"on"}, Restrict: restrict},
				}})
				windows := expect(c.windows)
				var clock clockTracker
				year2026(loc, func(tm, lt time.Time, day, minute int) {
					clock.see(day, minute)
					open := false
					for _, w := range windows {
						for d := day - 1; d <= day; d++ {
							wd := (lt.Weekday() + time.Weekday(7+d-day)) % 7
							if w.days[wd] && clock.reached(d, w.from) && !clock.reached(d+w.closeDays, w.to) {
								open = true
							}
						}
					}
					want := "base"
					if open {
						want = "on"
					}
					if got := s.OnCall(tm); len(got) != 1 || got[0] != want {
						require.Equal(t, []string{want}, got, "at %s", lt)
					}
				})
			})
		}
	}
}

// TestHandoffOnDSTDays pins down, in readable form, where handoffs land on
// the days clocks change.
func TestHandoffOnDSTDays(t *testing.T) {
	for _, tc := range []struct {
		name, zone, handoff, day string
		want                     string // start of the day's second shift
	}{
		{"09:00 stays 09:00 after spring forward", "America/New_York", "09:00", "2026-03-08", "2026-03-08T09:00:00-04:00"},
		{"09:00 stays 09:00 after fall back", "America/New_York", "09:00", "2026-11-01", "2026-11-01T09:00:00-05:00"},
		{"02:30 skipped by spring forward hands off when the gap ends", "America/New_York", "02:30", "2026-03-08", "2026-03-08T03:00:00-04:00"},
		{"02:30 skipped in Berlin too", "Europe/Berlin", "02:30", "2026-03-29", "2026-03-29T03:00:00+02:00"},
		{"02:30 repeated by fall back hands off the first time", "Europe/Berlin", "02:30", "2026-10-25", "2026-10-25T02:30:00+02:00"},
		{"01:30 repeated in New York hands off the first time", "America/New_York", "01:30", "2026-11-01", "2026-11-01T01:30:00-04:00"},
		{"02:15 skipped by a half-hour spring forward", "Australia/Lord_Howe", "02:15", "2026-10-04", "2026-10-04T02:30:00+11:00"},
		{"01:45 repeated by a half-hour fall back", "Australia/Lord_Howe", "01:45", "2026-04-05", "2026-04-05T01:45:00+11:00"},
		{"no dst in Kolkata", "Asia/Kolkata", "02:30", "2026-03-08", "2026-03-08T02:30:00+05:30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustNew(t, schedule.Spec{Name: "dst", TimeZone: tc.zone, Layers: []schedule.LayerSpec{{
				Rotation: schedule.RotationSpec{Every: "1d", Handoff: "2026-01-01T" + tc.handoff},
				Members:  []string{"a", "b"},
			}}})
			from := wall(t, s.Location(), tc.day+" 00:00")
			shifts := s.Shifts(from, from.Add(24*time.Hour))
			require.GreaterOrEqual(t, len(shifts), 2)
			require.Equal(t, tc.want, shifts[1].Start.Format(time.RFC3339))
		})
	}
}
