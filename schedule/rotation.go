package schedule

import (
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
)

// RotationSpec is how often a layer hands off, and when the first handoff
// is.
type RotationSpec struct {
	// Every is Nh, Nd or Nw (N ≥ 1).
	Every string `koanf:"every"`
	// Handoff is "YYYY-MM-DDTHH:MM" in the schedule's zone, or RFC 3339
	// with an offset. It is when members[0] goes on call.
	Handoff string `koanf:"handoff"`
}

// maxEvery bounds N in Every, so that arithmetic on it cannot overflow.
const maxEvery = 100000

// rotation finds which turn of a rotation is on call. Turn 0 starts at the
// handoff; turns before it run backwards, so every instant has a turn.
type rotation struct {
	hourly bool
	// period is in seconds when hourly, else in calendar days.
	period int64
	// start is the first handoff. Hourly rotations count elapsed time
	// from it.
	start time.Time
	// wall is the first handoff's wall-clock reading. Daily and weekly
	// rotations hand off at its time of day every period days from its day.
	wall local
}

// parseEvery parses Nh, Nd or Nw into a period and whether it is hourly.
func parseEvery(s string) (period int64, hourly, ok bool) {
	if len(s) < 2 {
		return 0, false, false
	}
	digits := s[:len(s)-1]
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false, false
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 1 || n > maxEvery {
		return 0, false, false
	}
	switch s[len(s)-1] {
	case 'h':
		return n * 3600, true, true
	case 'd':
		return n, false, true
	case 'w':
		return 7 * n, false, true
	}
	return 0, false, false
}

// newRotation validates spec; path is its key path ("layers[0].rotation").
func newRotation(spec RotationSpec, loc *time.Location, path string) (rotation, []error) {
	var r rotation
	var errs []error
	switch spec.Every {
	case "":
		errs = append(errs, klaxon.Invalid(path+".every", "missing"))
	default:
		var ok bool
		if r.period, r.hourly, ok = parseEvery(spec.Every); !ok {
			errs = append(errs, klaxon.Invalid(path+".every", "bad duration %q", spec.Every))
		}
	}
	switch spec.Handoff {
	case "":
		errs = append(errs, klaxon.Invalid(path+".handoff", "missing"))
	default:
		var err error
		if r.start, r.wall, err = parseTime(spec.Handoff, loc); err != nil {
			errs = append(errs, klaxon.Invalid(path+".handoff", "%v %q (want YYYY-MM-DDTHH:MM or RFC 3339)", err, spec.Handoff))
		}
	}
	return r, errs
}

// turn returns the turn on call at t, whose reached wall-clock reading is
// now. It is arithmetic on calendar days or elapsed seconds, whatever the
// distance from the handoff.
func (r *rotation) turn(t time.Time, now local) int64 {
	if r.hourly {
		return floorDiv(t.Unix()-r.start.Unix(), r.period)
	}
	days := now.day() - r.wall.day()
	if now.clock() < r.wall.clock() {
		days-- // today's handoff has not come yet
	}
	return floorDiv(days, r.period)
}

// handoff returns when turn k starts.
func (r *rotation) handoff(k int64, loc *time.Location) time.Time {
	if r.hourly {
		return time.Unix(r.start.Unix()+k*r.period, 0).In(loc)
	}
	return instantOf(r.wall+local(k*r.period*secondsPerDay), loc)
}
