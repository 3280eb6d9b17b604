package review

import (
	"time"

	"github.com/klaxonhq/klaxon"
)

// clock writes the times of one review, each in UTC and in the reader's
// zone.
type clock struct {
	reader *time.Location
	// seconds: some time of the review has seconds, so all are written
	// with them.
	seconds bool
}

// newClock returns the clock of the review of inc and its events.
func newClock(reader *time.Location, inc *klaxon.Incident, events []klaxon.Event) clock {
	c := clock{reader: reader}
	has := func(t time.Time) {
		if t.Second() != 0 || t.Nanosecond() != 0 {
			c.seconds = true
		}
	}
	for _, t := range []time.Time{inc.CreatedAt, inc.PagedAt, inc.AckedAt, inc.ResolvedAt, inc.SnoozedUntil} {
		has(t)
	}
	for _, e := range events {
		has(e.At)
	}
	return c
}

// at writes t as "2026-11-23 22:00 UTC (17:00 EST)": in UTC, then in the
// reader's zone, with the date when it is another day there. A reader in
// UTC sees the first part alone; a zero t is "—".
func (c clock) at(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	day, hour := "2006-01-02 ", "15:04"
	if c.seconds {
		hour += ":05"
	}
	u := t.UTC()
	s := u.Format(day+hour) + " UTC"
	l := t.In(c.reader)
	if name, offset := l.Zone(); name == "UTC" && offset == 0 {
		return s
	}
	layout := hour + " MST"
	if l.Format(day) != u.Format(day) {
		layout = day + layout
	}
	return s + " (" + l.Format(layout) + ")"
}
