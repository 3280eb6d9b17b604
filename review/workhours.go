package review

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// WorkHours are the hours of the week when a page is not after hours,
// on the wall clock of the person paged.
type WorkHours struct {
	// From and To are times of day, as durations since midnight on the
	// wall clock: a page at From is in work hours, one at To is after.
	// Both zero is 09:00–18:00. To not after From leaves no work hours.
	From, To time.Duration
	// Days are the days with work hours; none is Monday to Friday.
	Days []time.Weekday
}

// orDefault fills in what w leaves out: 09:00–18:00, Monday to Friday.
func (w WorkHours) orDefault() WorkHours {
	if w.From == 0 && w.To == 0 {
		w.From, w.To = 9*time.Hour, 18*time.Hour
	}
	if len(w.Days) == 0 {
		w.Days = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	}
	return w
}

// Contains reports whether t is in work hours on the wall clock of t's
// location: on one of the days, from From to before To. A day that DST
// shortens or lengthens keeps its wall-clock hours.
func (w WorkHours) Contains(t time.Time) bool {
	w = w.orDefault()
	if !slices.Contains(w.Days, t.Weekday()) {
		return false
	}
	h, m, s := t.Clock()
	at := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
	return at >= w.From && at < w.To
}

// String says w as "09:00–18:00 Mon–Fri", or with the days listed,
// Monday first: "08:00–12:30 Mon, Wed, Sat".
func (w WorkHours) String() string {
	w = w.orDefault()
	days := slices.Clone(w.Days)
	monday := func(d time.Weekday) int { return (int(d) + 6) % 7 }
	slices.SortFunc(days, func(a, b time.Weekday) int { return monday(a) - monday(b) })
	days = slices.Compact(days)
	var names []string
	for _, d := range days {
		names = append(names, d.String()[:3])
	}
	list := strings.Join(names, ", ")
	if list == "Mon, Tue, Wed, Thu, Fri" {
		list = "Mon–Fri"
	}
	return clockOf(w.From) + "–" + clockOf(w.To) + " " + list
}

// clockOf says a time of day as "09:00", or "09:00:30" with seconds.
func clockOf(d time.Duration) string {
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	if s != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}
