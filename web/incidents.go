package web

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/incident"
)

// maxOnce bounds the name of a button's rendering (incidentPage.Once).
const maxOnce = 64

// pageSize is how many alerts and timeline entries an incident's page
// shows at a time.
const pageSize = 50

// listLimit is the most incidents the list shows at a time; a variable
// for tests.
var listLimit = 500

// States the list filters by, as the form offers them.
var listStates = map[string][]klaxon.State{
	"open":         {klaxon.StateTriggered, klaxon.StateAcknowledged},
	"triggered":    {klaxon.StateTriggered},
	"acknowledged": {klaxon.StateAcknowledged},
	"resolved":     {klaxon.StateResolved},
	"all":          klaxon.States(),
}

type listFilter struct {
	State, Policy, Urgency string
	// Before, an incident ID, shows those older than it: the next page.
	Before string
}

// incidentRow is what the list shows of an incident, flat: the template
// reads it by field, which through an embedded header costs a reflect
// lookup a field.
type incidentRow struct {
	ID, Summary, Policy, AckedBy, Age, Opened, Paged string
	State                                            klaxon.State
	Urgency                                          klaxon.Urgency
	FiringCount, AlertCount                          int
	open                                             bool
	created                                          time.Time
}

type incidentList struct {
	Filter   listFilter
	States   []string
	Policies []string
	Rows     []incidentRow
	// Older, when the list stopped at listLimit, is the link to the
	// incidents older than the last shown, with the same filter.
	Older string
	Limit int
}

// incidents serves GET /incidents?state=&policy=&urgency=: open
// incidents first, the newest first within each.
func (c *Console) incidents(w http.ResponseWriter, r *http.Request, s *session, id *Identity) {
	q := r.URL.Query()
	f := listFilter{State: cmp.Or(q.Get("state"), "open"), Policy: q.Get("policy"), Urgency: q.Get("urgency"), Before: q.Get("before")}
	states, ok := listStates[f.State]
	if !ok {
		c.fail(w, r, id, klaxon.Invalid("state", "must be open, triggered, acknowledged, resolved or all, got %q", f.State))
		return
	}
	if err := klaxon.Urgency(f.Urgency).Check(); err != nil {
		c.fail(w, r, id, err)
		return
	}
	if f.Before != "" {
		var err error
		if f.Before, err = klaxon.ParseIncidentID("before", f.Before); err != nil {
			c.fail(w, r, id, err)
			return
		}
	}
	// One more than the page says whether there are more.
	incs, err := c.o.Incidents.Incidents(r.Context(), klaxon.IncidentFilter{States: states, Policy: f.Policy, Urgency: klaxon.Urgency(f.Urgency),
		Limit: listLimit + 1, Before: f.Before})
	if err != nil {
		c.fail(w, r, id, err)
		return
	}
	now := c.now()
	list := incidentList{Filter: f, Limit: listLimit, States: []string{"open", "triggered", "acknowledged", "resolved", "all"}}
	if len(incs) > listLimit {
		incs = incs[:listLimit]
		older := url.Values{"state": {f.State}, "before": {incs[len(incs)-1].ID}}
		if f.Policy != "" {
			older.Set("policy", f.Policy)
		}
		if f.Urgency != "" {
			older.Set("urgency", f.Urgency)
		}
		list.Older = "/incidents?" + older.Encode()
	}
	for _, p := range c.o.View().Policies() {
		list.Policies = append(list.Policies, p.Name)
	}
	for _, inc := range incs {
		list.Rows = append(list.Rows, incidentRow{ID: inc.ID, Summary: inc.Summary, Policy: inc.Policy.Name, AckedBy: inc.AckedBy,
			Age: age(inc.CreatedAt, now), Opened: inc.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), Paged: strings.Join(inc.PagedUsers(), ", "),
			State: inc.State, Urgency: inc.Urgency, FiringCount: inc.FiringCount, AlertCount: inc.AlertCount, open: inc.State.Open(), created: inc.CreatedAt})
	}
	slices.SortStableFunc(list.Rows, func(a, b incidentRow) int {
		if a.open != b.open {
			if a.open {
				return -1
			}
			return 1
		}
		return b.created.Compare(a.created)
	})
	c.show(w, r, s, id, "incidents", page{Title: "Incidents", Nav: "incidents", Refresh: true, Data: list})
}

// link is a link an incident's alerts carry: their source's, and their
// annotations' (runbook, dashboard, panel).
type link struct {
	Name, URL string
}

type incidentPage struct {
	*klaxon.Incident
	Age        string
	Labels     [][2]string
	Links      []link
	Alerts     []klaxon.AlertState
	AlertsFrom string
	AlertsNext string
	Timeline   []klaxon.Event
	Total      int
	EventsFrom int
	EventsNext int
	// EventsLast is the offset of the timeline's last page, when it is
	// past the next: a storm's incident has an event per alert that
	// joined, and what people did comes after them.
	EventsLast int
	Snoozes    []string
	Paged      []string
	Users      []klaxon.User
	// Once names this rendering of the page's Escalate button: a second
	// press of it, or a form sent twice, escalates once.
	Once string
}

// incident serves GET /incidents/{id}?alerts=CURSOR&events=OFFSET: the
// header, a page of its alerts and a page of its timeline.
func (c *Console) incident(w http.ResponseWriter, r *http.Request, s *session, id *Identity) {
	ctx, iid := r.Context(), r.PathValue("id")
	inc, err := c.o.Incidents.Incident(ctx, iid)
	if err != nil {
		c.fail(w, r, id, err)
		return
	}
	p := incidentPage{Incident: inc, Age: age(inc.CreatedAt, c.now()), Snoozes: []string{"30m", "1h", "4h", "12h"}, Paged: inc.PagedUsers(), Users: c.o.View().Users(), Once: rand.Text()}
	q := r.URL.Query()
	p.AlertsFrom = q.Get("alerts")
	if p.Alerts, p.AlertsNext, err = c.o.Incidents.IncidentAlerts(ctx, iid, p.AlertsFrom, pageSize); err != nil {
		c.fail(w, r, id, err)
		return
	}
	if e := q.Get("events"); e != "" {
		if p.EventsFrom, err = strconv.Atoi(e); err != nil || p.EventsFrom < 0 {
			c.fail(w, r, id, klaxon.Invalid("events", "must be a number from 0, got %q", e))
			return
		}
	}
	if p.Timeline, p.Total, err = c.o.Incidents.Timeline(ctx, iid, p.EventsFrom, pageSize); err != nil {
		c.fail(w, r, id, err)
		return
	}
	if end := p.EventsFrom + len(p.Timeline); end < p.Total {
		p.EventsNext = end
		if last := p.Total - pageSize; last > end {
			p.EventsLast = last
		}
	}
	for _, k := range slices.Sorted(maps.Keys(inc.Labels)) {
		p.Labels = append(p.Labels, [2]string{k, inc.Labels[k]})
	}
	p.Links = links(p.Alerts)
	c.show(w, r, s, id, "incident", page{Title: "#" + inc.ID + " " + inc.Summary, Nav: "incidents", Refresh: inc.State.Open(), Data: p})
}

// links are the distinct http(s) links of alerts: each one's source
// (Alertmanager's generatorURL) and its annotations named like
// runbook_url, dashboard_url or panel_url.
func links(alerts []klaxon.AlertState) []link {
	var out []link
	seen := map[string]bool{}
	add := func(name, u string) {
		if seen[u] || !webURL(u) {
			return
		}
		seen[u] = true
		out = append(out, link{Name: name, URL: u})
	}
	for _, a := range alerts {
		for _, k := range slices.Sorted(maps.Keys(a.Annotations)) {
			if k == "runbook" || strings.HasSuffix(k, "_url") || strings.HasSuffix(k, "URL") {
				add(cmp.Or(strings.TrimSuffix(strings.TrimSuffix(k, "_url"), "URL"), k), a.Annotations[k])
			}
		}
		add("source", a.URL)
	}
	return out
}

// webURL reports whether u is a link the console shows: an absolute
// http(s) URL. A sender's javascript: or data: URL never runs on click
// (html/template writes it as "#ZgotmplZ"), and a relative one would
// point into the console.
func webURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (strings.EqualFold(p.Scheme, "https") || strings.EqualFold(p.Scheme, "http")) && p.Host != ""
}

// command serves POST /incidents/{id}/{ack|resolve|escalate|snooze}, and
// goes back to the incident's page.
func (c *Console) command(w http.ResponseWriter, r *http.Request, _ *session, id *Identity) {
	ctx, iid := r.Context(), r.PathValue("id")
	who := klaxon.Actor{By: id.Name, How: How}
	var err error
	switch cmd := klaxon.Action(r.PathValue("command")); cmd {
	case klaxon.ActionAck, klaxon.ActionResolve:
		_, err = c.o.Commands.Act(ctx, cmd, iid, who)
	case klaxon.ActionEscalate:
		// An escalation is not idempotent: each pages the next step. The
		// page's button escalates once, however often it is pressed.
		if once := r.PostFormValue("once"); once != "" {
			if len(once) > maxOnce {
				err = klaxon.Invalid("once", "at most %d bytes, got %d", maxOnce, len(once))
				break
			}
			who.Once = klaxon.OnceRetry + "web:escalate:" + once
		}
		_, err = c.o.Commands.Act(ctx, cmd, iid, who)
		if errors.Is(err, klaxon.ErrUsed) {
			// Pressed again: the first press escalated.
			http.Redirect(w, r, "/incidents/"+url.PathEscape(iid), http.StatusSeeOther)
			return
		}
	case "snooze":
		var d time.Duration
		v := r.PostFormValue("duration")
		if d, err = config.ParseDuration(v); err != nil || d <= 0 {
			err = klaxon.Invalid("duration", "must be a positive duration such as 30m, 2h or 1d, got %q", v)
			break
		}
		_, err = c.o.Commands.Snooze(ctx, iid, d, who)
	case "notes":
		_, err = c.o.Commands.Note(ctx, iid, r.PostFormValue("text"), r.PostFormValue("update") != "", who)
	case "assign":
		_, err = c.o.Commands.Assign(ctx, iid, cmp.Or(r.PostFormValue("role"), incident.RoleAssignee), r.PostFormValue("user"), who)
	default:
		err = fmt.Errorf("no such command %q: one of ack, resolve, escalate, snooze, notes, assign: %w", r.PathValue("command"), klaxon.ErrNotFound)
	}
	if err != nil {
		c.fail(w, r, id, err)
		return
	}
	c.log.InfoContext(ctx, "incident command", "incident", iid, "command", r.PathValue("command"), "by", id.Name)
	http.Redirect(w, r, "/incidents/"+url.PathEscape(iid), http.StatusSeeOther)
}
