package api

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/incident"
)

// IncidentList is the body of GET /v1/incidents.
type IncidentList struct {
	Incidents []*klaxon.Incident `json:"incidents"`
	// Next, when there are more, is the ID to list them before
	// (GET /v1/incidents?before=): the last incident of this page.
	Next string `json:"next,omitempty"`
}

// listIncidents serves GET /v1/incidents?state=open|all|triggered,...&policy=&urgency=&limit=N&before=ID.
func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request, _ Caller) {
	f, err := parseFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := f.Limit
	f.Limit++ // one more says whether there are more
	incs, err := s.o.Store.Incidents(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list := IncidentList{Incidents: nonNil(incs)}
	if len(incs) > limit {
		list.Incidents = incs[:limit]
		list.Next = incs[limit-1].ID
	}
	writeJSON(w, http.StatusOK, list)
}

func parseFilter(r *http.Request) (klaxon.IncidentFilter, error) {
	f := klaxon.IncidentFilter{Limit: defaultPage}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxPage {
			return f, klaxon.Invalid("limit", "must be a number from 1 to %d, got %q", maxPage, l)
		}
		f.Limit = n
	}
	if b := r.URL.Query().Get("before"); b != "" {
		var err error
		if f.Before, err = klaxon.ParseIncidentID("before", b); err != nil {
			return f, err
		}
	}
	f.Policy = r.URL.Query().Get("policy")
	f.Urgency = klaxon.Urgency(r.URL.Query().Get("urgency"))
	if err := f.Urgency.Check(); err != nil {
		return f, err
	}
	switch st := r.URL.Query().Get("state"); st {
	case "", "open":
	case "all":
		f.States = klaxon.States()
	default:
		for v := range strings.SplitSeq(st, ",") {
			s := klaxon.State(v)
			if s != klaxon.StateTriggered && s != klaxon.StateAcknowledged && s != klaxon.StateResolved {
				return f, klaxon.Invalid("state", "must be open, all, or a list of triggered, acknowledged, resolved; got %q", v)
			}
			f.States = append(f.States, s)
		}
	}
	return f, nil
}

// IncidentView is the body of GET /v1/incidents/{id}: the incident's
// header with the first page of its alerts and of its timeline, and where
// the next pages start. An incident of any size answers in one page.
type IncidentView struct {
	*klaxon.Incident
	Alerts []klaxon.AlertState `json:"alerts"`
	// AlertsNext is the cursor of the next page of alerts
	// (GET /v1/incidents/{id}/alerts?cursor=); "" after the last.
	AlertsNext string         `json:"alerts_next,omitempty"`
	Timeline   []klaxon.Event `json:"timeline"`
	// TimelineTotal counts the timeline's events; TimelineNext is the
	// offset of the next page (GET /v1/incidents/{id}/timeline?offset=),
	// 0 after the last.
	TimelineTotal int `json:"timeline_total"`
	TimelineNext  int `json:"timeline_next,omitempty"`
}

// AlertPage is the body of GET /v1/incidents/{id}/alerts.
type AlertPage struct {
	Alerts []klaxon.AlertState `json:"alerts"`
	Next   string              `json:"next,omitempty"`
}

// TimelinePage is the body of GET /v1/incidents/{id}/timeline.
type TimelinePage struct {
	Timeline []klaxon.Event `json:"timeline"`
	Total    int            `json:"total"`
	Next     int            `json:"next,omitempty"`
}

// Page sizes: the default, and the most a request may ask.
const (
	defaultPage = 100
	maxPage     = 1000
)

// pageLimit reads ?limit=, 1 to maxPage.
func pageLimit(r *http.Request) (int, error) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return defaultPage, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > maxPage {
		return 0, klaxon.Invalid("limit", "must be a number from 1 to %d, got %q", maxPage, l)
	}
	return n, nil
}

// getIncident serves GET /v1/incidents/{id}?limit=N.
func (s *Server) getIncident(w http.ResponseWriter, r *http.Request, _ Caller) {
	limit, err := pageLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, id := r.Context(), r.PathValue("id")
	inc, err := s.o.Store.Incident(ctx, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := IncidentView{Incident: inc}
	if v.Alerts, v.AlertsNext, err = s.o.Store.IncidentAlerts(ctx, id, "", limit); err != nil {
		s.writeError(w, r, err)
		return
	}
	if v.Timeline, v.TimelineTotal, err = s.o.Store.Timeline(ctx, id, 0, limit); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(v.Timeline) < v.TimelineTotal {
		v.TimelineNext = len(v.Timeline)
	}
	v.Alerts, v.Timeline = nonNil(v.Alerts), nonNil(v.Timeline)
	writeJSON(w, http.StatusOK, v)
}

// incidentAlerts serves GET /v1/incidents/{id}/alerts?cursor=C&limit=N.
func (s *Server) incidentAlerts(w http.ResponseWriter, r *http.Request, _ Caller) {
	limit, err := pageLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var p AlertPage
	p.Alerts, p.Next, err = s.o.Store.IncidentAlerts(r.Context(), r.PathValue("id"), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p.Alerts = nonNil(p.Alerts)
	writeJSON(w, http.StatusOK, p)
}

// incidentTimeline serves GET /v1/incidents/{id}/timeline?offset=O&limit=N.
func (s *Server) incidentTimeline(w http.ResponseWriter, r *http.Request, _ Caller) {
	limit, err := pageLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	offset := 0
	if o := r.URL.Query().Get("offset"); o != "" {
		if offset, err = strconv.Atoi(o); err != nil || offset < 0 {
			s.writeError(w, r, klaxon.Invalid("offset", "must be a number from 0, got %q", o))
			return
		}
	}
	var p TimelinePage
	if p.Timeline, p.Total, err = s.o.Store.Timeline(r.Context(), r.PathValue("id"), offset, limit); err != nil {
		s.writeError(w, r, err)
		return
	}
	if end := offset + len(p.Timeline); end < p.Total {
		p.Next = end
	}
	p.Timeline = nonNil(p.Timeline)
	writeJSON(w, http.StatusOK, p)
}

// nonNil makes an empty page a JSON [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// CommandRequest is the optional body of a command: who acts, for a token
// with act_as shared by several people (by default the token's name), and
// for a snooze how long ("30m", "2h").
type CommandRequest struct {
	By       string `json:"by,omitempty"`
	Duration string `json:"duration,omitempty"`
	// Text is a note's (notes); Update marks it as a status update for
	// the incident's subscribers.
	Text   string `json:"text,omitempty"`
	Update bool   `json:"update,omitempty"`
	// User takes Role, assignee (the default) or commander (assign); ""
	// takes the role away.
	User string `json:"user,omitempty"`
	Role string `json:"role,omitempty"`
	// Into is the incident this one merges into (merge).
	Into string `json:"into,omitempty"`
}

// command serves POST /v1/incidents/{id}/{ack|resolve|escalate|snooze|notes|assign|merge}.
func (s *Server) command(w http.ResponseWriter, r *http.Request, caller Caller) {
	var req CommandRequest
	if r.ContentLength != 0 {
		if err := readRequest(w, r, &req, "command body"); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	how := "api"
	if strings.HasPrefix(r.UserAgent(), "klaxon-cli") {
		how = "cli"
	}
	who, err := actor(caller, req.By, how)
	if err == nil && who.ViaToken != "" && s.o.Users != nil {
		// The person named is who acknowledged, and takes the incident:
		// a name that is no user's would be recorded as one.
		if _, ok := s.o.Users.User(who.By); !ok {
			err = klaxon.Invalid("by", "no user %q: name a user of the users file, or leave out by (the token's name acts)", who.By)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		// A command sent again with its key (a client's retry after a
		// lost answer) acts once: each but merge records the key with
		// its change; a merge sent again finds the incident merged.
		if len(key) > maxIdempotencyKey {
			s.writeError(w, r, klaxon.Invalid("Idempotency-Key", "at most %d bytes, got %d", maxIdempotencyKey, len(key)))
			return
		}
		who.Once = klaxon.OnceRetry + retryName(caller.Name, who.By, r.PathValue("command"), key, req.args())
	}
	id := r.PathValue("id")
	var inc *klaxon.Incident
	switch cmd := klaxon.Action(r.PathValue("command")); cmd {
	case klaxon.ActionAck, klaxon.ActionResolve, klaxon.ActionEscalate:
		inc, err = s.o.Commands.Act(r.Context(), cmd, id, who)
	case "snooze":
		// The durations of klaxon.yaml: "90m", "2h30m", "7d", "1w".
		var d time.Duration
		if d, err = config.ParseDuration(req.Duration); err != nil || d <= 0 {
			err = klaxon.Invalid("duration", "must be a positive duration such as 30m, 2h or 1d, got %q", req.Duration)
			break
		}
		if bound := s.bounds().Snooze; d > bound {
			err = klaxon.Invalid("duration", "a snooze lasts at most %s (api.max_snooze), got %s: resolve the incident instead", klaxon.Span(bound), klaxon.Span(d))
			break
		}
		inc, err = s.o.Commands.Snooze(r.Context(), id, d, who)
	case "notes":
		inc, err = s.o.Commands.Note(r.Context(), id, req.Text, req.Update, who)
	case "assign":
		inc, err = s.o.Commands.Assign(r.Context(), id, cmp.Or(req.Role, incident.RoleAssignee), req.User, who)
	case "merge":
		if req.Into == "" {
			err = klaxon.Invalid("into", "required: the incident to merge into")
			break
		}
		inc, err = s.o.Commands.Merge(r.Context(), id, req.Into, who)
	default:
		err = errorf(http.StatusNotFound, "no such command %q: one of ack, resolve, escalate, snooze, notes, assign, merge", r.PathValue("command"))
	}
	if errors.Is(err, klaxon.ErrUsed) && who.Once != "" {
		// Done already, with this key: answered as done.
		inc, err = s.o.Store.Incident(r.Context(), id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, inc)
}

// maxIdempotencyKey bounds a command's Idempotency-Key.
const maxIdempotencyKey = 128

// retryName is what an incident records of a command's Idempotency-Key,
// sent by token for by with args: short whatever the key's length; the
// same key sent by another token, for another person, with another
// command or other arguments (assign carol after assign bob) is another
// name, and acts: it is not the same command sent again.
func retryName(token, by, command, key string, args []string) string {
	h := sha256.New()
	for _, f := range append([]string{token, by, command, key}, args...) {
		h.Write([]byte(strconv.Itoa(len(f)) + ":" + f))
	}
	return "api:" + hex.EncodeToString(h.Sum(nil)[:12])
}

// args are the arguments of the command, but for who acts (By).
func (c CommandRequest) args() []string {
	return []string{c.Duration, c.Text, strconv.FormatBool(c.Update), c.User, c.Role, c.Into}
}
