package web

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/schedule"
)

// ahead is how far the on-call page looks for the next handoff, and
// the span a schedule's page draws.
const ahead = 14 * 24 * time.Hour

type onCallRow struct {
	Schedule, TimeZone string
	Now, Next          []string
	// Until is when the next change comes, zero when none does within
	// ahead.
	Until time.Time
	Err   string
}

// onCall serves GET /oncall: per schedule, who is on call now, until
// when, and who comes next.
func (c *Console) onCall(w http.ResponseWriter, r *http.Request, s *session, id *Identity) {
	v, now := c.o.View(), c.now()
	var rows []onCallRow
	for _, name := range v.Names() {
		sc, _ := v.Schedule(name)
		row := onCallRow{Schedule: name, TimeZone: sc.Location().String()}
		tl, err := v.Timeline(r.Context(), name, now, now.Add(ahead))
		if err != nil {
			row.Err = err.Error()
			rows = append(rows, row)
			continue
		}
		// Until is the next change: a shift on now ends, or another
		// begins (an override over the layers, or after a gap).
		row.Now = onCallAt(tl.Final, now)
		for _, sh := range tl.Final {
			for _, edge := range []time.Time{sh.Start, sh.End} {
				if edge.After(now) && (row.Until.IsZero() || edge.Before(row.Until)) {
					row.Until = edge
				}
			}
		}
		if !row.Until.IsZero() && row.Until.Before(now.Add(ahead)) {
			row.Next = onCallAt(tl.Final, row.Until)
		} else {
			row.Until = time.Time{}
		}
		rows = append(rows, row)
	}
	c.show(w, r, s, id, "oncall", page{Title: "On call now", Nav: "oncall", Refresh: true, Data: rows})
}

// onCallAt returns the users of shifts on call at t, sorted.
func onCallAt(shifts []schedule.Shift, t time.Time) []string {
	var users []string
	for _, sh := range shifts {
		if !sh.Start.After(t) && sh.End.After(t) && !slices.Contains(users, sh.User) {
			users = append(users, sh.User)
		}
	}
	slices.Sort(users)
	return users
}

// bar is one shift drawn on a row of the timeline, in units of
// timelineWidth over the window.
type bar struct {
	X, W  float64
	User  string
	Class string
	Title string
}

type timelineRow struct {
	Name string
	Bars []bar
}

type tick struct {
	X     float64
	Label string
}

type overrideRow struct {
	klaxon.Override
	// File is true for an override written in the schedule's YAML, which
	// only a change in git removes.
	File bool
}

type schedulePage struct {
	Name, TimeZone string
	Loc            *time.Location
	From, To       time.Time
	Rows           []timelineRow
	Ticks          []tick
	Final          []schedule.Shift
	Overrides      []overrideRow
	Users          []klaxon.User
	// DefaultFrom and DefaultTo fill the override form: the next hour,
	// for a day, on the schedule's wall clock.
	DefaultFrom, DefaultTo string
	Width                  float64
}

// timelineWidth is the width of the timeline's drawing, in its own
// units: 100 a day.
const timelineWidth = 1400

// localForm is how a datetime-local field writes a wall-clock time.
const localForm = "2006-01-02T15:04"

// schedule serves GET /schedules/{name}: the next 14 days per layer, the
// overrides and the final result, and a form to add an override.
func (c *Console) schedule(w http.ResponseWriter, r *http.Request, s *session, id *Identity) {
	v, name := c.o.View(), r.PathValue("name")
	sc, ok := v.Schedule(name)
	if !ok {
		c.fail(w, r, id, fmt.Errorf("no schedule %q: %w", name, klaxon.ErrNotFound))
		return
	}
	loc, now := sc.Location(), c.now()
	y, m, d := now.In(loc).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc)
	to := time.Date(y, m, d+int(ahead/(24*time.Hour)), 0, 0, 0, 0, loc)
	tl, err := v.Timeline(r.Context(), name, from, to)
	if err != nil {
		c.fail(w, r, id, err)
		return
	}
	next := now.In(loc).Truncate(time.Hour).Add(time.Hour)
	p := schedulePage{Name: name, TimeZone: loc.String(), Loc: loc, From: from, To: to, Final: tl.Final, Users: v.Users(), Width: timelineWidth,
		DefaultFrom: next.Format(localForm), DefaultTo: next.Add(24 * time.Hour).Format(localForm)}
	colors := colorsOf(tl)
	x := func(t time.Time) float64 {
		return math.Round(float64(t.Sub(from))/float64(to.Sub(from))*timelineWidth*100) / 100
	}
	bars := func(shifts []schedule.Shift) []bar {
		var out []bar
		for _, sh := range shifts {
			start, end := sh.Start, sh.End
			if start.Before(from) {
				start = from
			}
			if end.After(to) {
				end = to
			}
			if !end.After(start) {
				continue
			}
			out = append(out, bar{X: x(start), W: x(end) - x(start), User: sh.User, Class: colors[sh.User],
				Title: fmt.Sprintf("%s %s – %s", sh.User, sh.Start.In(loc).Format("Mon 02 Jan 15:04"), sh.End.In(loc).Format("Mon 02 Jan 15:04"))})
		}
		return out
	}
	for _, l := range tl.Layers {
		p.Rows = append(p.Rows, timelineRow{Name: l.Name, Bars: bars(l.Shifts)})
	}
	var ovs []schedule.Shift
	for _, o := range tl.FileOverrides {
		ovs = append(ovs, schedule.Shift{User: o.User, Start: o.From, End: o.To})
		p.Overrides = append(p.Overrides, overrideRow{Override: klaxon.Override{Schedule: name, User: o.User, From: o.From, To: o.To}, File: true})
	}
	for _, o := range tl.Runtime {
		ovs = append(ovs, schedule.Shift{User: o.User, Start: o.From, End: o.To})
		p.Overrides = append(p.Overrides, overrideRow{Override: o})
	}
	p.Rows = append(p.Rows, timelineRow{Name: "overrides", Bars: bars(ovs)}, timelineRow{Name: "final", Bars: bars(tl.Final)})
	for day := from; day.Before(to); day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc) {
		p.Ticks = append(p.Ticks, tick{X: x(day), Label: day.Format("Mon 2")})
	}
	c.show(w, r, s, id, "schedule", page{Title: "Schedule " + name, Nav: "oncall", Data: p})
}

// colorsOf gives each user of a timeline a color class, in the order
// they first appear, so that a user has one color on every row.
func colorsOf(tl schedule.Timeline) map[string]string {
	colors := map[string]string{}
	add := func(u string) {
		if _, ok := colors[u]; !ok {
			colors[u] = fmt.Sprintf("c%d", len(colors)%8)
		}
	}
	for _, l := range tl.Layers {
		for _, sh := range l.Shifts {
			add(sh.User)
		}
	}
	for _, o := range tl.FileOverrides {
		add(o.User)
	}
	for _, o := range tl.Runtime {
		add(o.User)
	}
	for _, sh := range tl.Final {
		add(sh.User)
	}
	return colors
}

// addOverride serves POST /schedules/{name}/overrides: user, and from and
// to on the schedule's wall clock.
func (c *Console) addOverride(w http.ResponseWriter, r *http.Request, _ *session, id *Identity) {
	v, name := c.o.View(), r.PathValue("name")
	sc, ok := v.Schedule(name)
	if !ok {
		c.fail(w, r, id, fmt.Errorf("no schedule %q: %w", name, klaxon.ErrNotFound))
		return
	}
	o := klaxon.Override{Schedule: name, User: r.PostFormValue("user"), By: id.Name}
	var err error
	for _, f := range []struct {
		key string
		to  *time.Time
	}{{"from", &o.From}, {"to", &o.To}} {
		// As the schedule's file and the command line read it: a time
		// that repeats at its first occurrence, one clocks skip at the
		// end of the gap.
		v := r.PostFormValue(f.key)
		if _, err = time.Parse(localForm, v); err != nil {
			c.fail(w, r, id, klaxon.Invalid(f.key, "want a date and time like 2026-12-24T09:00, got %q", v))
			return
		}
		*f.to, _ = schedule.WallTime(v, sc.Location())
	}
	now := c.now()
	if err := o.Check(now, c.o.MaxOverride(), func(u string) bool { _, ok := v.User(u); return ok }); err != nil {
		c.fail(w, r, id, err)
		return
	}
	if o, err = c.o.Overrides.PutOverride(r.Context(), o, now); err != nil {
		c.fail(w, r, id, err)
		return
	}
	c.log.InfoContext(r.Context(), "override added", "schedule", name, "user", o.User, "by", id.Name, "id", o.ID)
	http.Redirect(w, r, "/schedules/"+url.PathEscape(name), http.StatusSeeOther)
}

// removeOverride serves POST /schedules/{name}/overrides/{id}/delete.
func (c *Console) removeOverride(w http.ResponseWriter, r *http.Request, _ *session, id *Identity) {
	name := r.PathValue("name")
	if err := c.o.Overrides.DeleteOverride(r.Context(), name, r.PathValue("id")); err != nil {
		c.fail(w, r, id, err)
		return
	}
	c.log.InfoContext(r.Context(), "override removed", "schedule", name, "id", r.PathValue("id"), "by", id.Name)
	http.Redirect(w, r, "/schedules/"+url.PathEscape(name), http.StatusSeeOther)
}
