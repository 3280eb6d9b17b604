package schedule

import (
	"errors"
	"strconv"
	"time"
)

// local is a wall-clock reading in a schedule's zone: seconds since
// 1970-01-01T00:00 as the clocks on the wall show them, that is, as if the
// wall clock were UTC. Comparing readings is plain integer arithmetic on
// calendar days and seconds of the day, with no zone rules involved.
type local int64

const secondsPerDay = 86400

// day is the reading's calendar day, counted from 1970-01-01.
func (l local) day() int64 { return floorDiv(int64(l), secondsPerDay) }

// clock is the reading's time of day in seconds.
func (l local) clock() int64 { return floorMod(int64(l), secondsPerDay) }

// weekday is the day of the week of calendar day d (1970-01-01 was a
// Thursday).
func weekday(d int64) time.Weekday { return time.Weekday(floorMod(d+4, 7)) }

// reached returns the latest wall-clock reading that the clocks in loc have
// shown at or before t. It is t's own reading, except while clocks that were
// set back repeat readings already shown: then it is the last reading shown
// before they were set back. Everything the package decides at t is decided
// on this reading, so a wall-clock time that repeats counts once, at its
// first occurrence, and one that is skipped is passed when the skip happens.
func reached(t time.Time, loc *time.Location) local {
	t = t.In(loc)
	_, off := t.Zone()
	u := t.Unix()
	if start, prev, ok := lastChange(t); ok && u-start < int64(prev-off) {
		return local(start - 1 + int64(prev))
	}
	return local(u + int64(off))
}

// lastChange returns when, in the two days before t, the clocks of t's
// zone last changed their offset to t's, and the offset before; false if
// they did not (no clock is set back further than that). It asks the zone
// for offsets alone: Go's ZoneBounds, with its own compact zone data
// (time/tzdata, which the binary carries for a host without any), places
// the start of the period after a zone's last listed change at the start
// of the year, and a fall-back there (America/Metlakatla, 2019-01-20) went
// unseen, its repeated hour counted twice.
func lastChange(t time.Time) (start int64, prev int, ok bool) {
	loc := t.Location()
	offset := func(u int64) int {
		_, o := time.Unix(u, 0).In(loc).Zone()
		return o
	}
	_, off := t.Zone()
	lo, hi := t.Unix()-2*secondsPerDay, t.Unix()
	if offset(lo) == off {
		return 0, 0, false
	}
	for hi-lo > 1 { // offset(lo) is not off, offset(hi) is
		mid := lo + (hi-lo)/2
		if offset(mid) == off {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, offset(lo), true
}

// instantOf returns the first instant at which the clocks in loc show x or
// later: x itself when it occurs once, its first occurrence when clocks are
// set back over it, and the end of the gap when clocks skip it. Go's
// time.Date leaves the last two cases unspecified (it picks a different side
// in America/New_York and Europe/Berlin), so they are settled here.
func instantOf(x local, loc *time.Location) time.Time {
	n := time.Unix(int64(x), 0).UTC()
	t := time.Date(n.Year(), n.Month(), n.Day(), n.Hour(), n.Minute(), n.Second(), 0, loc)
	_, off := t.Zone()
	r := local(t.Unix() + int64(off))
	start, end := t.ZoneBounds()
	switch {
	case r < x && !end.IsZero(): // time.Date answered before the gap
		return end
	case r > x && !start.IsZero(): // time.Date answered after the gap
		return start
	case r != x || start.IsZero():
		return t
	}
	_, prev := start.Add(-time.Second).Zone()
	if c := int64(x) - int64(prev); c < start.Unix() {
		if ct := time.Unix(c, 0).In(loc); local(c+int64(prev)) == x {
			if _, o := ct.Zone(); o == prev {
				return ct // the first occurrence, before clocks were set back
			}
		}
	}
	return t
}

// readingOf returns the wall-clock reading that t shows in loc.
func readingOf(t time.Time, loc *time.Location) local {
	_, off := t.In(loc).Zone()
	return local(t.Unix() + int64(off))
}

// Layouts of a local date and time; RFC 3339 with an offset is also accepted.
var localLayouts = [...]string{"2006-01-02T15:04", "2006-01-02T15:04:05"}

var errBadTime = errors.New("bad time")

// WallTime returns the instant of wall-clock time s ("YYYY-MM-DDTHH:MM",
// or with ":SS") in loc as schedules read their times: one that repeats,
// at its first occurrence; one that clocks skip, at the end of the gap.
// A command that takes a time in a schedule's zone reads it so, to mean
// what the same time in the schedule's file means. False if s is no such
// time.
func WallTime(s string, loc *time.Location) (time.Time, bool) {
	x, ok := wallReading(s)
	if !ok {
		return time.Time{}, false
	}
	return instantOf(x, loc), true
}

// wallReading parses s, "YYYY-MM-DDTHH:MM" or with ":SS", as a reading.
func wallReading(s string) (local, bool) {
	for _, layout := range localLayouts {
		if n, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return local(n.Unix()), true
		}
	}
	return 0, false
}

// parseTime parses a handoff or override time: "YYYY-MM-DDTHH:MM" (or with
// ":SS") as a wall-clock reading in loc, or RFC 3339 with an offset as an
// instant. It returns both the instant and the reading it shows in loc.
func parseTime(s string, loc *time.Location) (time.Time, local, error) {
	if x, ok := wallReading(s); ok {
		return instantOf(x, loc), x, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		t = t.Truncate(time.Second).In(loc)
		return t, readingOf(t, loc), nil
	}
	return time.Time{}, 0, errBadTime
}

// parseClock parses a time of day "HH:MM" into seconds; "24:00" is accepted
// when allow24 is set.
func parseClock(s string, allow24 bool) (int64, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || s[0] < '0' || s[0] > '9' || s[3] < '0' || s[3] > '9' {
		return 0, false
	}
	switch {
	case h == 24 && m == 0 && allow24:
		return secondsPerDay, true
	case h < 0 || h > 23 || m < 0 || m > 59:
		return 0, false
	}
	return int64(h*3600 + m*60), true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
