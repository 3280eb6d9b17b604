package schedule

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Shift is a stretch of time during which User is on call without a
// break.
type Shift struct {
	User       string
	Start, End time.Time
}

// Gap is a stretch of time during which nobody is on call.
type Gap struct {
	Start, End time.Time
}

// walk calls fn for consecutive spans that cover [from, to), with who is on
// call during each. Times are in the schedule's location.
func (s *Schedule) walk(from, to time.Time, extra []Override, fn func(start, end time.Time, users []string)) {
	from, to = from.In(s.loc), to.In(s.loc)
	for t := from; t.Before(to); {
		end := s.next(t, to, extra).In(s.loc)
		if !end.After(t) { // cannot happen; never loop forever if it does
			end = t.Add(time.Second)
		}
		fn(t, end, s.OnCall(t, extra...))
		t = end
	}
}

// Shifts returns the final on-call shifts in [from, to), after layers and
// overrides (the schedule's and extra) are applied: one per user and
// unbroken stretch, clipped to the window, ordered by start then user.
// Several shifts overlap where overrides overlap.
func (s *Schedule) Shifts(from, to time.Time, extra ...Override) []Shift {
	var shifts []Shift
	open := make(map[string]time.Time)
	s.walk(from, to, extra, func(start, _ time.Time, users []string) {
		for u, since := range open {
			if !slices.Contains(users, u) {
				shifts = append(shifts, Shift{User: u, Start: since, End: start})
				delete(open, u)
			}
		}
		for _, u := range users {
			if _, ok := open[u]; !ok {
				open[u] = start
			}
		}
	})
	for u, since := range open {
		shifts = append(shifts, Shift{User: u, Start: since, End: to.In(s.loc)})
	}
	slices.SortFunc(shifts, func(a, b Shift) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.User, b.User))
	})
	return shifts
}

// Gaps returns the stretches of [from, to) during which nobody is on call,
// clipped to the window.
func (s *Schedule) Gaps(from, to time.Time, extra ...Override) []Gap {
	var gaps []Gap
	s.walk(from, to, extra, func(start, end time.Time, users []string) {
		switch {
		case len(users) > 0:
		case len(gaps) > 0 && gaps[len(gaps)-1].End.Equal(start):
			gaps[len(gaps)-1].End = end
		default:
			gaps = append(gaps, Gap{Start: start, End: end})
		}
	})
	return gaps
}

// FormatGap describes g on the wall clock of loc, for people:
// "nobody on call Sat 00:00–09:00 America/New_York". A gap that ends on a
// later day names that day ("Fri 17:00–Mon 09:00"), or "24:00" when it
// ends at the next midnight; one of six days or more gives dates too.
func FormatGap(g Gap, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	start, end := g.Start.In(loc), g.End.In(loc)
	sy, sm, sd := start.Date()
	ey, em, ed := end.Date()
	days := (time.Date(ey, em, ed, 0, 0, 0, 0, time.UTC).Unix() - time.Date(sy, sm, sd, 0, 0, 0, 0, time.UTC).Unix()) / secondsPerDay
	var span string
	switch {
	case days == 0:
		span = start.Format("Mon 15:04") + "–" + end.Format("15:04")
	case days == 1 && end.Hour() == 0 && end.Minute() == 0:
		span = start.Format("Mon 15:04") + "–24:00"
	case days < 6:
		span = start.Format("Mon 15:04") + "–" + end.Format("Mon 15:04")
	default:
		span = start.Format("Mon 2006-01-02 15:04") + "–" + end.Format("Mon 2006-01-02 15:04")
	}
	return fmt.Sprintf("nobody on call %s %s", span, loc)
}
