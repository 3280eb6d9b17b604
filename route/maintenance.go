package route

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/klaxonhq/klaxon"
)

// WindowSpec is a recurring maintenance window as klaxon.yaml writes it:
// alerts that match it while it is open page nobody until it closes.
type WindowSpec struct {
	Name     string   `koanf:"name"`
	Matchers []string `koanf:"matchers"`
	// Every is daily or weekly; a weekly window is open on Days.
	Every string   `koanf:"every"`
	Days  []string `koanf:"days"`
	// From and To are wall-clock times in TimeZone, "02:00"; a window
	// whose To is not after From ends the next day.
	From     string `koanf:"from"`
	To       string `koanf:"to"`
	TimeZone string `koanf:"time_zone"`
}

// Window is a maintenance window: a recurring one from klaxon.yaml, or
// one set at runtime (klaxon.Maintenance).
type Window struct {
	Name     string
	Matchers labels.Matchers
	// classic are the matchers only Alertmanager's classic parser reads.
	classic []Classic
	// A recurring window opens at from (seconds since midnight) on each
	// of days (nil: every day), in loc, and lasts span.
	days []time.Weekday
	from time.Duration
	span time.Duration
	loc  *time.Location
	// A runtime window is open in [start, end).
	start, end time.Time
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// NewWindow checks s, a window of klaxon.yaml at path
// ("maintenance[0]"); problems are *klaxon.FieldError values naming their
// key, joined.
func NewWindow(s WindowSpec, path string) (*Window, []error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, klaxon.Invalid(path+"."+key, format, args...))
	}
	w := &Window{Name: s.Name}
	if s.Name == "" {
		bad("name", "required")
	}
	before := len(errs)
	w.Matchers, errs = parseMatchers(s.Matchers, path+".matchers", errs, &w.classic)
	switch {
	case len(s.Matchers) == 0:
		bad("matchers", `required: the alerts the window holds, like service="db"`)
	case len(errs) == before && matchesAnything(w.Matchers):
		// As a runtime window: it would hold every alert without its
		// labels (a heartbeat's, a PagerDuty event's) whenever it opens.
		bad("matchers", "%s matches an alert with no labels, so every alert: a window over every alert would silence everything", w.Matchers)
	}
	switch s.Every {
	case "daily":
		if len(s.Days) > 0 {
			bad("days", "a daily window is open every day: leave days out, or make it weekly")
		}
	case "weekly":
		if len(s.Days) == 0 {
			bad("days", "required for a weekly window: like [sat, sun]")
		}
		for i, d := range s.Days {
			wd, ok := weekdays[strings.ToLower(d)]
			if !ok {
				bad(fmt.Sprintf("days[%d]", i), "unknown day %q: want mon, tue, wed, thu, fri, sat or sun", d)
			}
			w.days = append(w.days, wd)
		}
	default:
		bad("every", "must be daily or weekly, got %q", s.Every)
	}
	from, ok1 := clock(s.From)
	to, ok2 := clock(s.To)
	if !ok1 {
		bad("from", "want a time of day like 02:00, got %q", s.From)
	}
	if !ok2 {
		bad("to", "want a time of day like 04:00, got %q", s.To)
	}
	w.from, w.span = from, to-from
	if w.span <= 0 {
		w.span += 24 * time.Hour
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if s.TimeZone == "" || s.TimeZone == "Local" || err != nil {
		bad("time_zone", "want an IANA zone like Europe/Berlin, got %q", s.TimeZone)
		loc = time.UTC
	}
	w.loc = loc
	return w, errs
}

// RuntimeWindow is the window of m, set at runtime.
func RuntimeWindow(m klaxon.Maintenance) (*Window, error) {
	ms, errs := parseMatchers(m.Matchers, "matchers", nil, nil)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	if len(ms) == 0 {
		return nil, klaxon.Invalid("matchers", "at least one matcher, like service=\"db\"")
	}
	if matchesAnything(ms) {
		return nil, klaxon.Invalid("matchers", "%s matches an alert with no labels, so every alert: a window over every alert would silence everything", ms)
	}
	return &Window{Name: RuntimeName(m.ID), Matchers: ms, start: m.From, end: m.To}, nil
}

// ClassicMatchers are the window's matchers that only Alertmanager's
// classic parser reads (see Classic).
func (w *Window) ClassicMatchers() []Classic { return w.classic }

// End is when a runtime window ends; zero for a recurring one.
func (w *Window) End() time.Time { return w.end }

// RuntimeName is the name of runtime window id: "#" and its ID.
func RuntimeName(id string) string { return "#" + id }

// matchesAnything reports whether ms match an alert without labels: then
// they match every alert that lacks theirs too.
func matchesAnything(ms labels.Matchers) bool {
	for _, m := range ms {
		if !m.Matches("") {
			return false
		}
	}
	return true
}

// clock reads "HH:MM" as a time since midnight, up to 24:00.
func clock(s string) (time.Duration, bool) {
	t, err := time.Parse("15:04", s)
	if s == "24:00" {
		return 24 * time.Hour, true
	}
	if err != nil {
		return 0, false
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, true
}

// Until reports whether the window holds an alert with lbls at now, and
// when it closes.
func (w *Window) Until(lbls map[string]string, now time.Time) (time.Time, bool) {
	for _, m := range w.Matchers {
		if !m.Matches(lbls[m.Name]) {
			return time.Time{}, false
		}
	}
	if w.loc == nil {
		return w.end, !now.Before(w.start) && now.Before(w.end)
	}
	// The opening that may hold now began today or, past midnight, the
	// day before.
	local := now.In(w.loc)
	for back := 0; back <= 1; back++ {
		day := time.Date(local.Year(), local.Month(), local.Day()-back, 0, 0, 0, 0, w.loc)
		if w.days != nil && !slices.Contains(w.days, day.Weekday()) {
			continue
		}
		open := wallClock(day, w.from, w.loc)
		end := wallClock(day, w.from+w.span, w.loc)
		if !now.Before(open) && now.Before(end) {
			return end, true
		}
	}
	return time.Time{}, false
}

// wallClock is d past midnight of day on the wall clock of loc: across a
// change of the clocks, 02:30 is read as the wall clock says, not as a
// duration from midnight.
func wallClock(day time.Time, d time.Duration, loc *time.Location) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), 0, int(d/time.Minute), 0, 0, loc)
}

// Silence returns the window of the lists that holds an alert with lbls
// at now, the one that closes last, and when the alert is free: an
// opening that begins as the last closes (a weekend window of Saturday
// and Sunday, each 00:00 to 24:00; a runtime window that ends as a
// recurring one opens) holds it on, to at most maxChained openings.
func Silence(lbls map[string]string, now time.Time, lists ...[]*Window) (*Window, time.Time, bool) {
	found, until, ok := silenceAt(lbls, now, lists)
	if !ok {
		return nil, time.Time{}, false
	}
	for range maxChained {
		w, next, held := silenceAt(lbls, until, lists)
		if !held || !next.After(until) {
			break
		}
		found, until = w, next
	}
	return found, until, true
}

// maxChained bounds the openings that Silence chains: a window open all
// day every day holds an alert for a month, then pages it.
const maxChained = 31

// silenceAt is Silence without the chaining of openings.
func silenceAt(lbls map[string]string, now time.Time, lists [][]*Window) (*Window, time.Time, bool) {
	var found *Window
	var until time.Time
	for _, windows := range lists {
		for _, w := range windows {
			if end, ok := w.Until(lbls, now); ok && end.After(until) {
				found, until = w, end
			}
		}
	}
	return found, until, found != nil
}
