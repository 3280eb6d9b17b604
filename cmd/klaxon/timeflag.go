package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/schedule"
)

// timeHelp is how every --at, --from and --to is written.
const timeHelp = "now, +2h, -30m, +3d, 2026-12-24T09:00 or RFC 3339"

// timeFlag is a time given on the command line, kept as written until the
// zone it is read in is known: "now"; a duration from now with its sign
// ("+2h", "-30m", "+3d", "+1w"); a wall time ("2026-12-24T09:00"), which
// the schedule commands read in the schedule's time zone and the others in
// the local one; or RFC 3339, which names its own offset.
type timeFlag struct {
	text string // as written; "" when not set and without default
	now  time.Time
}

// newTimeFlag returns a flag that reads as def until set.
func newTimeFlag(now time.Time, def string) *timeFlag { return &timeFlag{text: def, now: now} }

func (f *timeFlag) String() string {
	if f == nil {
		return ""
	}
	return f.text
}

// Set checks s at once, so that a bad time is a usage error.
func (f *timeFlag) Set(s string) error {
	if _, err := parseTime(s, f.now, time.UTC); err != nil {
		return err
	}
	f.text = s
	return nil
}

// isSet reports whether the flag holds a time.
func (f *timeFlag) isSet() bool { return f.text != "" }

// wall reports whether the flag is a wall time, which needs a zone.
func (f *timeFlag) wall() bool {
	_, err := time.Parse(wallLayout, f.text)
	return err == nil
}

// in is the flag's time, a wall time read in loc.
func (f *timeFlag) in(loc *time.Location) time.Time {
	t, _ := parseTime(f.text, f.now, loc) // checked by Set
	return t
}

const wallLayout = "2006-01-02T15:04"

// parseTime reads s, one of timeFlag's forms, with now for "now" and
// durations and loc for wall times.
func parseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	bad := fmt.Errorf("time %q: want %s", s, timeHelp)
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "+"), strings.HasPrefix(s, "-"):
		d, err := config.ParseDuration(s[1:])
		if err != nil {
			return time.Time{}, bad
		}
		if s[0] == '-' {
			d = -d
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	// As the schedule's file reads it: a time that repeats at its first
	// occurrence, one that clocks skip at the end of the gap.
	if _, err := time.Parse(wallLayout, s); err != nil {
		return time.Time{}, bad
	}
	t, _ := schedule.WallTime(s, loc)
	return t, nil
}

// scheduleZone is the time zone of schedule name, asked of the server
// only when one of flags is a wall time; the local zone otherwise.
func scheduleZone(ctx context.Context, c *client, name string, flags ...*timeFlag) (*time.Location, error) {
	needed := false
	for _, f := range flags {
		needed = needed || f.wall()
	}
	if !needed {
		return time.Local, nil
	}
	var oc api.OnCall
	if err := c.do(ctx, http.MethodGet, "/v1/schedules/"+url.PathEscape(name)+"/oncall", nil, &oc); err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(oc.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: time zone %q: %w", name, oc.TimeZone, err)
	}
	return loc, nil
}
