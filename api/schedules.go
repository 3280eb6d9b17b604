package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/schedule"
)

// Schedules answers who is on call, from the schedules in git and the
// runtime overrides in the store.
type Schedules interface {
	Schedule(name string) (*schedule.Schedule, bool)
	Names() []string
	User(id string) (klaxon.User, bool)
	OnCall(ctx context.Context, name string, t time.Time) ([]string, error)
	Shifts(ctx context.Context, name string, from, to time.Time) ([]schedule.Shift, error)
}

// OnCall is one schedule's on-call users at an instant.
type OnCall struct {
	Schedule string    `json:"schedule"`
	TimeZone string    `json:"time_zone"`
	At       time.Time `json:"at"`
	Users    []string  `json:"users"`
}

// OnCallList is the body of GET /v1/oncall.
type OnCallList struct {
	OnCall []OnCall `json:"oncall"`
}

// ShiftList is the body of GET /v1/schedules/{name}/shifts.
type ShiftList struct {
	Schedule string           `json:"schedule"`
	TimeZone string           `json:"time_zone"`
	Shifts   []schedule.Shift `json:"shifts"`
}

// OverrideRequest is the body of POST /v1/schedules/{name}/overrides.
type OverrideRequest struct {
	User string    `json:"user"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// OverrideList is the body of GET /v1/schedules/{name}/overrides.
type OverrideList struct {
	Overrides []klaxon.Override `json:"overrides"`
}

func (s *Server) schedulesRoutes() {
	s.handle(GroupAPI, "GET /v1/oncall", s.auth(klaxon.ScopeRead, s.allOnCall))
	s.handle(GroupAPI, "GET /v1/schedules/{name}/oncall", s.auth(klaxon.ScopeRead, s.scheduleOnCall))
	s.handle(GroupAPI, "GET /v1/schedules/{name}/shifts", s.auth(klaxon.ScopeRead, s.shifts))
	s.handle(GroupFeed, "GET /v1/schedules/{file}", s.ical)
	s.handle(GroupAPI, "GET /v1/schedules/{name}/overrides", s.auth(klaxon.ScopeRead, s.listOverrides))
	s.handle(GroupAPI, "POST /v1/schedules/{name}/overrides", s.auth(klaxon.ScopeAdmin, s.createOverride))
	s.handle(GroupAPI, "DELETE /v1/schedules/{name}/overrides/{id}", s.auth(klaxon.ScopeAdmin, s.deleteOverride))
}

// instant parses the query parameter name as RFC 3339, defaulting to def.
func instant(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, klaxon.Invalid(name, "must be an RFC 3339 time such as 2026-12-24T09:00:00Z, got %q", v)
	}
	if y := t.UTC().Year(); y < 1 || y > maxYear {
		// The shifts around it must be written in JSON, which takes
		// years up to 9999 only.
		return t, klaxon.Invalid(name, "must be a time in the years 1 to %d, got %q", maxYear, v)
	}
	return t, nil
}

// maxYear bounds the times a query asks about.
const maxYear = 9000

func (s *Server) schedule(name string) (*schedule.Schedule, error) {
	sc, ok := s.o.Schedules.Schedule(name)
	if !ok {
		return nil, errorf(http.StatusNotFound, "no schedule %q", name)
	}
	return sc, nil
}

func (s *Server) onCallAt(r *http.Request, name string, at time.Time) (OnCall, error) {
	sc, err := s.schedule(name)
	if err != nil {
		return OnCall{}, err
	}
	users, err := s.o.Schedules.OnCall(r.Context(), name, at)
	if users == nil {
		users = []string{}
	}
	return OnCall{Schedule: name, TimeZone: sc.Location().String(), At: at, Users: users}, err
}

// allOnCall serves GET /v1/oncall?at=: every schedule.
func (s *Server) allOnCall(w http.ResponseWriter, r *http.Request, _ Caller) {
	at, err := instant(r, "at", s.o.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list := OnCallList{OnCall: []OnCall{}}
	for _, name := range s.o.Schedules.Names() {
		oc, err := s.onCallAt(r, name, at)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		list.OnCall = append(list.OnCall, oc)
	}
	writeJSON(w, http.StatusOK, list)
}

// scheduleOnCall serves GET /v1/schedules/{name}/oncall?at=.
func (s *Server) scheduleOnCall(w http.ResponseWriter, r *http.Request, _ Caller) {
	at, err := instant(r, "at", s.o.Now())
	if err == nil {
		var oc OnCall
		if oc, err = s.onCallAt(r, r.PathValue("name"), at); err == nil {
			writeJSON(w, http.StatusOK, oc)
			return
		}
	}
	s.writeError(w, r, err)
}

// window reads from and to, defaulting to a week back and eight ahead of
// now.
func window(r *http.Request, now time.Time) (from, to time.Time, err error) {
	if from, err = instant(r, "from", now.Add(-7*24*time.Hour)); err != nil {
		return
	}
	if to, err = instant(r, "to", now.Add(8*7*24*time.Hour)); err != nil {
		return
	}
	if !to.After(from) {
		err = klaxon.Invalid("to", "must be after from")
	} else if to.Sub(from) > 366*24*time.Hour {
		err = klaxon.Invalid("to", "the window is at most a year")
	}
	return
}

// shifts serves GET /v1/schedules/{name}/shifts?from=&to=.
func (s *Server) shifts(w http.ResponseWriter, r *http.Request, _ Caller) {
	sc, shifts, ok := s.scheduleShifts(w, r, r.PathValue("name"))
	if !ok {
		return
	}
	if shifts == nil {
		shifts = []schedule.Shift{}
	}
	writeJSON(w, http.StatusOK, ShiftList{Schedule: sc.Name(), TimeZone: sc.Location().String(), Shifts: shifts})
}

func (s *Server) listOverrides(w http.ResponseWriter, r *http.Request, _ Caller) {
	name := r.PathValue("name")
	if _, err := s.schedule(name); err != nil {
		s.writeError(w, r, err)
		return
	}
	ovs, err := s.o.Overrides.Overrides(r.Context(), name, s.o.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if ovs == nil {
		ovs = []klaxon.Override{}
	}
	writeJSON(w, http.StatusOK, OverrideList{Overrides: ovs})
}

// createOverride serves POST /v1/schedules/{name}/overrides.
func (s *Server) createOverride(w http.ResponseWriter, r *http.Request, caller Caller) {
	name := r.PathValue("name")
	if _, err := s.schedule(name); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req OverrideRequest
	now := s.o.Now()
	if err := readRequest(w, r, &req, "override"); err != nil {
		s.writeError(w, r, err)
		return
	}
	o := klaxon.Override{Schedule: name, User: req.User, From: req.From, To: req.To, By: caller.Name}
	err := o.Check(now, s.bounds().Override, func(id string) bool { _, ok := s.o.Schedules.User(id); return ok })
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err = s.o.Overrides.PutOverride(r.Context(), o, now)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, o)
}

func (s *Server) deleteOverride(w http.ResponseWriter, r *http.Request, _ Caller) {
	if err := s.o.Overrides.DeleteOverride(r.Context(), r.PathValue("name"), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ical serves GET /v1/schedules/{name}.ics: the shifts as an iCalendar
// feed for calendar apps, to a feed token of the schedule or an API token
// (see feedAuth).
func (s *Server) ical(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	if !ok {
		s.writeError(w, r, errorf(http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
		return
	}
	if !s.feedAuth(w, r, name) {
		return
	}
	sc, shifts, ok := s.scheduleShifts(w, r, name)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	_, _ = w.Write([]byte(ICal(sc.Name(), shifts, s.o.Now())))
}

// scheduleShifts returns schedule name and its shifts in the request's
// window (from, to); it has answered the request when ok is false.
func (s *Server) scheduleShifts(w http.ResponseWriter, r *http.Request, name string) (sc *schedule.Schedule, shifts []schedule.Shift, ok bool) {
	sc, err := s.schedule(name)
	if err == nil {
		var from, to time.Time
		if from, to, err = window(r, s.o.Now()); err == nil {
			shifts, err = s.o.Schedules.Shifts(r.Context(), sc.Name(), from, to)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return nil, nil, false
	}
	return sc, shifts, true
}

// ICal renders shifts as an iCalendar (RFC 5545) feed.
func ICal(name string, shifts []schedule.Shift, stamp time.Time) string {
	const layout = "20060102T150405Z"
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\r\n") }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//Klaxon//On call//EN")
	line("CALSCALE:GREGORIAN")
	line("X-WR-CALNAME:" + icalText("On call: "+name))
	for _, sh := range shifts {
		line("BEGIN:VEVENT")
		line("UID:" + icalText(name+"-"+sh.User+"-"+sh.Start.UTC().Format(layout)) + "@klaxon")
		line("DTSTAMP:" + stamp.UTC().Format(layout))
		line("DTSTART:" + sh.Start.UTC().Format(layout))
		line("DTEND:" + sh.End.UTC().Format(layout))
		line("SUMMARY:" + icalText("On call: "+sh.User+" ("+name+")"))
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	return b.String()
}

// icalText escapes a TEXT value (RFC 5545 3.3.11).
func icalText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`, "\r", "").Replace(s)
}
