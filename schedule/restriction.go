package schedule

import (
	"fmt"
	"strings"

	"github.com/klaxonhq/klaxon"
)

// RestrictSpec limits a layer to a daily window on some days of the week.
type RestrictSpec struct {
	// Days are mon, tue, wed, thu, fri, sat, sun; none means every day.
	Days []string `koanf:"days"`
	// From and To are "HH:MM" on the wall clock of the schedule's zone.
	// To <= From spans midnight into the next day; To may be "24:00".
	From string `koanf:"from"`
	To   string `koanf:"to"`
}

var dayNames = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

// restriction is a window that opens at from on each of days and closes at
// to, on the same day when to > from, else on the next day.
type restriction struct {
	days     [7]bool // by time.Weekday
	from, to int64   // seconds of the day; to is in (0, 86400]
}

func newRestriction(spec RestrictSpec, path string) (restriction, []error) {
	var r restriction
	var errs []error
	if len(spec.Days) == 0 {
		r.days = [7]bool{true, true, true, true, true, true, true}
	}
	for i, d := range spec.Days {
		n, ok := dayNames[strings.ToLower(d)]
		if !ok {
			errs = append(errs, klaxon.Invalid(fmt.Sprintf("%s.days[%d]", path, i), "unknown day %q (want mon..sun)", d))
			continue
		}
		r.days[n] = true
	}
	var ok bool
	switch {
	case spec.From == "":
		errs = append(errs, klaxon.Invalid(path+".from", "missing"))
	default:
		if r.from, ok = parseClock(spec.From, false); !ok {
			errs = append(errs, klaxon.Invalid(path+".from", "bad time of day %q (want HH:MM)", spec.From))
		}
	}
	switch {
	case spec.To == "":
		errs = append(errs, klaxon.Invalid(path+".to", "missing"))
	default:
		if r.to, ok = parseClock(spec.To, true); !ok {
			errs = append(errs, klaxon.Invalid(path+".to", "bad time of day %q (want HH:MM or 24:00)", spec.To))
		}
	}
	if r.to == 0 {
		r.to = secondsPerDay // "00:00" closes at midnight, like "24:00"
	}
	return r, errs
}

// window returns the window that opens on calendar day d, if d is one of
// the restriction's days.
func (r *restriction) window(d int64) (open, close local, ok bool) {
	if !r.days[weekday(d)] {
		return 0, 0, false
	}
	open = local(d*secondsPerDay + r.from)
	close = local(d*secondsPerDay + r.to)
	if r.to <= r.from {
		close += secondsPerDay
	}
	return open, close, true
}

// covers reports whether a window is open at reading now. A window is at
// most a day long, so only those opening yesterday and today can be.
func (r *restriction) covers(now local) bool {
	for d := now.day() - 1; d <= now.day(); d++ {
		if open, close, ok := r.window(d); ok && open <= now && now < close {
			return true
		}
	}
	return false
}

// nextEdge returns the first reading after now at which a window opens or
// closes. Some day within the week ahead has a window.
func (r *restriction) nextEdge(now local) local {
	next := now + 9*secondsPerDay
	for d := now.day() - 1; d <= now.day()+7; d++ {
		open, close, ok := r.window(d)
		if !ok {
			continue
		}
		for _, e := range [2]local{open, close} {
			if e > now && e < next {
				next = e
			}
		}
	}
	return next
}
