package klaxon

import (
	"fmt"
	"strconv"
	"time"
)

// DefaultMaxSnooze is the longest snooze unless configured otherwise
// (api.max_snooze): an incident silenced for longer is one to resolve,
// not to forget.
const DefaultMaxSnooze = 7 * 24 * time.Hour

// Span says d in days when it is whole days ("1 day", "7 days"), else as
// time.Duration does: how the bounds on snoozes and overrides are told to
// people.
func Span(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > 0 && d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + " days"
	}
	return d.String()
}

// Plural counts n of noun, in English: "1 alert", "3 alerts".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
