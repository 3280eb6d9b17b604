package review

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Markdown writes the review of inc, whose timeline is events, in
// Markdown: a title with the incident's ID and summary; its facts (state,
// urgency, severity, policy, when it opened, was first paged,
// acknowledged and resolved, the step of the policy its walk had reached
// when first acknowledged, how long those took, assignee, commander,
// alerts, labels); who was paged, how many pages went out to each
// person and by which contact methods, then each page by contact method
// and step, and what the provider reported of it; who acted (acknowledgements,
// resolves, escalations, snoozes, roles, merges), how, and through which
// API token; the notes and status updates; and the timeline: every
// event but the alerts' past the first maxAlertRows, which one row
// counts. A table of more than maxRows rows lists the first and the last
// maxRows/2, and counts the rest in one row between them.
//
// users names the people the review mentions (nil names nobody): "alice
// (Alice Chen)". Every time is written in UTC and, unless reader is UTC,
// in reader's zone too, with the date when it differs: "2026-11-23 22:00
// UTC (17:00 EST)". Times are to the minute, or to the second when any of
// the review's times has seconds. A nil reader is UTC. It lists no
// change events: MarkdownChanges does.
//
// Every text that came from outside (summaries, labels, notes, names) is
// escaped, so that it reads as it was written and cannot break a table:
// Markdown's punctuation is escaped with a backslash, and line breaks
// become <br>. The output depends only on the arguments; inc must not
// be nil.
func Markdown(inc *klaxon.Incident, events []klaxon.Event, users func(id string) (klaxon.User, bool), reader *time.Location) string {
	var s sifter
	return s.markdown(inc, s.sift(nil, events), nil, users, reader)
}

// MarkdownChanges is Markdown with, after the facts, the section
// "Changes before": the change events of changes (see ReadChanges), each
// with its time, how long before the incident opened it came, its
// integration, summary, source and links. Their times count among the
// review's (to the second when one has seconds).
func MarkdownChanges(inc *klaxon.Incident, events []klaxon.Event, changes Changes, users func(id string) (klaxon.User, bool), reader *time.Location) string {
	var s sifter
	return s.markdown(inc, s.sift(nil, events), &changes, users, reader)
}

// markdown is Markdown of the events s kept, and of those it counted,
// with the section of changes when they are not nil.
func (s *sifter) markdown(inc *klaxon.Incident, events []klaxon.Event, changes *Changes, users func(id string) (klaxon.User, bool), reader *time.Location) string {
	if reader == nil {
		reader = time.UTC
	}
	r := &review{inc: inc, events: events, left: s.left, mine: own(events), changed: changes, users: users, clock: newClock(reader, inc, events)}
	r.clock.seconds = r.clock.seconds || s.left.seconds
	if changes != nil {
		for _, c := range changes.List {
			r.clock.seconds = r.clock.seconds || c.At.Second() != 0 || c.At.Nanosecond() != 0
		}
	}
	var b strings.Builder
	r.b = &b
	fmt.Fprintf(&b, "# Incident %s: %s\n\n", escape(inc.ID), escape(oneLine(inc.Summary)))
	// A zone that is UTC under another name (Etc/UTC, a server's local
	// zone) writes each time once, as the clock does.
	if name, offset := inc.CreatedAt.In(reader).Zone(); name != "UTC" || offset != 0 {
		fmt.Fprintf(&b, "Times are in UTC and in %s.\n\n", escape(reader.String()))
	} else {
		b.WriteString("Times are in UTC.\n\n")
	}
	r.facts()
	r.changes()
	r.paged()
	r.acts()
	r.notes()
	r.timeline()
	return b.String()
}

// review is the state of one Markdown review being written.
type review struct {
	b      *strings.Builder
	inc    *klaxon.Incident
	events []klaxon.Event
	left   alertsLeft     // the alerts' events past the first maxAlertRows
	mine   []klaxon.Event // the incident's own events: see own
	// changed are the changes before the incident; nil writes no
	// section of them.
	changed *Changes
	users   func(string) (klaxon.User, bool)
	clock   clock
}

// table writes a table of head and rows, whose cells are written as
// they are: the caller escapes them. Past maxRows rows, it writes the
// first and the last maxRows/2 and, between them, one row that counts
// the rows left out, which are what: "2,900 more pages". A row of keep
// (one that counts rows of its own) is written wherever it is, between
// the counts of the rows left out before and after it.
func (r *review) table(head []string, rows [][]string, what string, keep ...int) {
	r.b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for range head {
		r.b.WriteString("---|")
	}
	r.b.WriteString("\n")
	left := 0 // rows left out since the last written
	gap := func() {
		if left == 0 {
			return
		}
		row := slices.Repeat([]string{"…"}, len(head))
		row[0] = count(left) + " more " + what + ", not listed: GET /v1/incidents/" + escape(r.inc.ID) + "/timeline lists every event"
		r.b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		left = 0
	}
	for i, row := range rows {
		if len(rows) > maxRows && i >= maxRows/2 && i < len(rows)-maxRows/2 && !slices.Contains(keep, i) {
			left++
			continue
		}
		gap()
		r.b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	gap()
	r.b.WriteString("\n")
}

// maxRows bounds the rows of each table of a review: an incident that
// pages for days, or that its responders work for hours, holds thousands
// of pages, acts and notes, and its review would be megabytes. The first
// and the last maxRows/2 tell how it began and how it ended; the API
// pages through the rest.
const maxRows = 100

func (r *review) facts() {
	inc, c := r.inc, r.clock
	r.b.WriteString("## Facts\n\n")
	ack, isAcked := acked(inc, r.mine)
	res, isResolved := resolved(inc, r.mine)
	toAck, toResolve := "not acknowledged", "not resolved"
	ackAt, resAt := "—", "—"
	if isAcked {
		toAck = since(inc.CreatedAt, ack.At).String()
		ackAt = c.at(ack.At) + r.byHow(ack)
		if ack.Kind == klaxon.EventSnoozed {
			ackAt += ", snoozing it"
		}
	}
	if isResolved {
		toResolve = since(inc.CreatedAt, res.At).String()
		resAt = c.at(res.At) + r.byHow(res)
	}
	labels := make([]string, 0, len(inc.Labels))
	for _, k := range slices.Sorted(maps.Keys(inc.Labels)) {
		labels = append(labels, k+"="+inc.Labels[k])
	}
	rows := [][]string{
		{"Summary", text(inc.Summary)},
		{"State", text(string(inc.State))},
		{"Urgency", text(string(inc.Urgency))},
		{"Severity", text(inc.Severity)},
		{"Policy", text(inc.Policy.Name)},
		{"Opened", c.at(inc.CreatedAt)},
		{"First page", c.at(inc.PagedAt)},
		{"Acknowledged", ackAt},
		{"Acknowledged at step", step(ackStep(r.mine))},
		{"Resolved", resAt},
		{"Time to acknowledge", toAck},
		{"Time to resolve", toResolve},
		{"Assignee", text(r.who(inc.Assignee))},
		{"Commander", text(r.who(inc.Commander))},
		{"Alerts", fmt.Sprintf("%d firing of %d", inc.FiringCount, inc.AlertCount)},
		{"Labels", text(strings.Join(labels, ", "))},
	}
	r.table([]string{"Fact", "Value"}, rows, "facts")
}

// byHow says who did e, and how: " by alice (Alice Chen) via sms".
func (r *review) byHow(e klaxon.Event) string {
	s := ""
	if e.By != "" {
		s += " by " + escape(r.who(e.By))
	}
	if e.How != "" {
		s += " via " + escape(e.How)
	}
	return s
}

// page is one page to one person: a page_sent event, or a notification
// that failed for good without one, and what became of it.
type page struct {
	sent    klaxon.Event // the page_sent event; zero At when it never went out
	first   klaxon.Event // the event that made the row: sent, else its failure
	report  *klaxon.Event
	retries int
	// gaveUp: its tries failed, to be tried again, and it never was;
	// first is the last of them.
	gaveUp bool
}

// pages pairs each page_sent among events with the first report of the
// same notification after it (page_delivered, or page_failed for good;
// a report that came before the page's send was recorded counts too,
// a failure only when it is not older than the send),
// and makes a row of each notification that failed for good without
// being sent, and of each whose tries failed and that was never tried
// again (the incident acknowledged or resolved meanwhile); a later report of a page already reported is left out (an unknown user, a provider that refused it). Tries that
// failed and were tried again are counted on the page that went out
// after them.
func pages(events []klaxon.Event) []*page {
	var out []*page
	open := map[int]*page{}           // by notification: the latest page sent, with no report yet
	early := map[int]*klaxon.Event{}  // reports of pages not yet recorded as sent
	retries := map[int]int{}          // tries that failed and were tried again, before the next send
	lastTry := map[int]klaxon.Event{} // the latest of them
	sent := map[int]bool{}            // notifications sent
	for _, e := range events {
		switch {
		case e.Kind == klaxon.EventPageSent:
			sent[e.Notification] = true
			p := &page{sent: e, first: e, retries: retries[e.Notification]}
			delete(retries, e.Notification)
			rep, ok := early[e.Notification]
			if ok && rep.Kind == klaxon.EventPageFailed && rep.At.Before(e.At) {
				// Recorded before this send, and not of it: a report of
				// an earlier try's call (one that rang unanswered), or the
				// page given up, of a page whose try failed but that its
				// provider sent, and then reported reached. A delivered
				// report is of the page that went out, though it came
				// while its try was with the provider (before its end,
				// the send's time).
				ok = false
				delete(early, e.Notification)
			}
			if ok && e.Notification != 0 {
				p.report = rep
				delete(early, e.Notification)
			} else if e.Notification != 0 {
				open[e.Notification] = p
			}
			out = append(out, p)
		case e.Kind == klaxon.EventPageFailed && e.How == klaxon.HowRetry:
			retries[e.Notification]++
			lastTry[e.Notification] = e
		case e.Kind == klaxon.EventPageFailed || e.Kind == klaxon.EventPageDelivered:
			if p, ok := open[e.Notification]; ok {
				p.report = &e
				delete(open, e.Notification)
			} else if _, ok := early[e.Notification]; !ok && !sent[e.Notification] {
				early[e.Notification] = &e
			}
		}
	}
	// Failures of pages never sent: a row each, in their place in time.
	for _, n := range slices.Sorted(maps.Keys(early)) {
		e := early[n]
		if e.Kind != klaxon.EventPageFailed {
			continue // a delivery report of a send the timeline lacks
		}
		out = append(out, &page{first: *e, report: e, retries: retries[n]})
		delete(retries, n)
	}
	// Pages whose tries failed, to be tried again, and that never were:
	// the incident was acknowledged or resolved meanwhile (a timeline
	// written before that was recorded, or a try that ended after it).
	for _, n := range slices.Sorted(maps.Keys(retries)) {
		if sent[n] || n == 0 {
			continue
		}
		last := lastTry[n]
		out = append(out, &page{first: last, retries: retries[n], gaveUp: true})
	}
	slices.SortStableFunc(out, func(a, b *page) int { return a.first.At.Compare(b.first.At) })
	return out
}

func (r *review) paged() {
	r.b.WriteString("## Who was paged\n\n")
	ps := pages(r.mine)
	if len(ps) == 0 {
		r.b.WriteString("Nobody was paged.\n\n")
		return
	}
	r.perPerson(ps)
	c := r.clock
	rows := make([][]string, 0, len(ps))
	for _, p := range ps {
		e := p.first
		sent, after := "not sent", "—"
		if !p.sent.At.IsZero() {
			sent, after = c.at(p.sent.At), since(r.inc.CreatedAt, p.sent.At).String()
		}
		via := e.Via
		if p.sent.Text != "" {
			via += " (" + p.sent.Text + ")"
		}
		outcome := "no report"
		if p.gaveUp {
			outcome = "not tried again after " + tries(p.retries) + " that failed, the last " + c.at(e.At)
			if e.Text != "" {
				outcome += ": " + escape(e.Text)
			}
		}
		if rep := p.report; rep != nil {
			what := "delivered"
			if rep.Kind == klaxon.EventPageFailed {
				what = "failed"
			}
			outcome = what + " " + c.at(rep.At)
			if rep.Text != "" {
				outcome += ": " + escape(rep.Text)
			}
		}
		switch {
		case p.gaveUp:
		case p.retries == 1:
			outcome += ", after a try that failed"
		case p.retries > 1:
			outcome += ", after " + tries(p.retries) + " that failed"
		}
		rows = append(rows, []string{number(e.Notification), text(r.who(e.User)), text(via), step(e.Step), sent, after, outcome})
	}
	r.table([]string{"#", "To", "Via", "Step", "Sent", "After opening", "Outcome"}, rows, "pages")
}

// perPerson writes how many of ps went out to each person, and by which
// contact methods, in the order of their first page: the table of pages
// that follows may leave rows out, and its reader would count them.
func (r *review) perPerson(ps []*page) {
	type person struct {
		user  string
		pages int
		via   map[string]int
	}
	var people []*person
	at := map[string]*person{}
	for _, p := range ps {
		if p.sent.At.IsZero() {
			continue
		}
		x, ok := at[p.sent.User]
		if !ok {
			x = &person{user: p.sent.User, via: map[string]int{}}
			at[p.sent.User] = x
			people = append(people, x)
		}
		x.pages++
		x.via[p.sent.Via]++
	}
	if len(people) == 0 {
		return
	}
	rows := make([][]string, 0, len(people))
	for _, x := range people {
		var via []string
		for _, v := range slices.Sorted(maps.Keys(x.via)) {
			via = append(via, escape(v)+" "+count(x.via[v]))
		}
		rows = append(rows, []string{text(r.who(x.user)), count(x.pages), strings.Join(via, ", ")})
	}
	r.table([]string{"To", "Pages sent", "By"}, rows, "people")
}

// tries says n tries: "1 try", "2 tries".
func tries(n int) string {
	if n == 1 {
		return "1 try"
	}
	return strconv.Itoa(n) + " tries"
}

// acted are the kinds of event that are somebody's act on the incident,
// or the policy's.
var acted = []klaxon.EventKind{
	klaxon.EventAcknowledged, klaxon.EventSnoozed, klaxon.EventResolved, klaxon.EventEscalated,
	klaxon.EventAssigned, klaxon.EventCommanderSet, klaxon.EventMerged, klaxon.EventMergedInto,
}

func (r *review) acts() {
	r.b.WriteString("## Who acted\n\n")
	var rows [][]string
	for _, e := range r.mine {
		if !slices.Contains(acted, e.Kind) {
			continue
		}
		by := "Klaxon"
		if e.By != "" {
			by = r.who(e.By)
		}
		rows = append(rows, []string{r.clock.at(e.At), since(r.inc.CreatedAt, e.At).String(), r.act(e), text(by), text(e.How), text(e.ViaToken)})
	}
	if len(rows) == 0 {
		r.b.WriteString("Nobody acted.\n\n")
		return
	}
	r.table([]string{"When", "After opening", "Act", "By", "How", "Via token"}, rows, "acts")
}

// act says what e did, escaped.
func (r *review) act(e klaxon.Event) string {
	switch e.Kind {
	case klaxon.EventSnoozed:
		if t, err := time.Parse(time.RFC3339, strings.TrimPrefix(e.Text, "until ")); err == nil {
			return "snoozed until " + r.clock.at(t)
		}
	case klaxon.EventEscalated:
		if e.Text != "" {
			return "escalated to " + escape(e.Text)
		}
		return "escalated to step " + step(e.Step)
	case klaxon.EventAssigned, klaxon.EventCommanderSet:
		role := "assignee"
		if e.Kind == klaxon.EventCommanderSet {
			role = "commander"
		}
		if e.User == "" {
			return "no " + role + " any more"
		}
		return escape(r.who(e.User)) + " made " + role
	case klaxon.EventMerged:
		return "merged in: " + escape(e.Text)
	case klaxon.EventMergedInto:
		return "merged into " + escape(e.Text)
	}
	s := string(e.Kind)
	if e.Text != "" {
		s += ": " + e.Text
	}
	return escape(s)
}

func (r *review) notes() {
	r.b.WriteString("## Notes\n\n")
	var rows [][]string
	for _, e := range r.mine {
		kind := "note"
		switch e.Kind {
		case klaxon.EventNote:
		case klaxon.EventStatusUpdate:
			kind = "status update"
		default:
			continue
		}
		rows = append(rows, []string{r.clock.at(e.At), kind, text(r.who(e.By)), text(e.Text)})
	}
	if len(rows) == 0 {
		r.b.WriteString("No notes.\n\n")
		return
	}
	r.table([]string{"When", "Kind", "By", "Note"}, rows, "notes")
}

func (r *review) timeline() {
	r.b.WriteString("## Timeline\n\n")
	if len(r.events) == 0 {
		r.b.WriteString("The timeline is empty.\n")
		return
	}
	// Past the first maxAlertRows alerts' events, one row counts the
	// rest, where the first of them would be.
	rows := make([][]string, 0, min(len(r.events), 2*maxAlertRows))
	seen, counted := 0, -1
	for _, e := range r.events {
		if alertRow(e) {
			if seen++; seen > maxAlertRows {
				if seen == maxAlertRows+1 {
					counted = len(rows)
					rows = append(rows, []string{r.clock.at(e.At), since(r.inc.CreatedAt, e.At).String(), "…", r.unlisted()})
				}
				continue
			}
		}
		rows = append(rows, []string{r.clock.at(e.At), since(r.inc.CreatedAt, e.At).String(), escape(string(e.Kind)), text(r.details(e))})
	}
	r.table([]string{"When", "After opening", "Event", "Details"}, rows, "events", counted)
}

// maxAlertRows bounds the rows of alerts' events in a review's timeline:
// an incident of a storm holds one for each of its alerts, 100,000 of
// them, which no reader reads and which would make the review megabytes.
// The people's events (pages, acts, notes) are listed within maxRows.
const maxAlertRows = 50

// alertRow reports whether e is an alert's event, of which a review
// lists the first maxAlertRows: an alert joined, fired again, resolved
// or silenced. Not the trigger that opened the incident.
func alertRow(e klaxon.Event) bool {
	switch e.Kind {
	case klaxon.EventAlertJoined, klaxon.EventAlertRefired, klaxon.EventAlertResolved, klaxon.EventAlertSilenced:
		return true
	}
	return false
}

// alertsLeft are the alerts' events of a timeline past its first
// maxAlertRows, which a review counts and does not list.
type alertsLeft struct {
	kinds map[klaxon.EventKind]int
	last  klaxon.Event
	// seconds: one of them has a time with seconds (see clock).
	seconds bool
}

// sifter keeps, of a timeline read page by page, the events a review
// lists: every event but the alerts' past the first maxAlertRows, of
// which it keeps the first, where the row that counts them goes, and
// counts the rest. The review of a storm's incident holds its people's
// events and a few alerts', not its 100,000 alerts' events.
type sifter struct {
	alerts int // the alerts' events seen
	left   alertsLeft
	// integrations are those of the alerts of every event seen, kept
	// or counted.
	integrations integrations
}

// sift appends to kept the events of page that the review lists, and
// counts the others.
func (s *sifter) sift(kept, page []klaxon.Event) []klaxon.Event {
	if s.integrations == nil {
		s.integrations = integrations{}
	}
	for _, e := range page {
		s.integrations.add(e)
		if alertRow(e) {
			if s.alerts++; s.alerts > maxAlertRows {
				if s.left.kinds == nil {
					s.left.kinds = map[klaxon.EventKind]int{}
				}
				s.left.kinds[e.Kind]++
				s.left.last = e
				if s.alerts > maxAlertRows+1 {
					s.left.seconds = s.left.seconds || e.At.Second() != 0 || e.At.Nanosecond() != 0
					continue
				}
			}
		}
		kept = append(kept, e)
	}
	return kept
}

// unlisted says what the alerts' events left out of the timeline were:
// "99,950 more alert events until 2026-11-23 23:10 UTC, not listed:
// alert_joined 99,000 · alert_resolved 950; GET
// /v1/incidents/42/timeline lists every event".
func (r *review) unlisted() string {
	n := 0
	var kinds []string
	for _, k := range slices.Sorted(maps.Keys(r.left.kinds)) {
		n += r.left.kinds[k]
		kinds = append(kinds, escape(string(k))+" "+count(r.left.kinds[k]))
	}
	return count(n) + " more alert events until " + r.clock.at(r.left.last.At) + ", not listed: " + strings.Join(kinds, " · ") +
		"; GET /v1/incidents/" + escape(r.inc.ID) + "/timeline lists every event"
}

// count writes n with a comma between thousands: "99,950".
func count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// details says all that e holds but its time and kind, unescaped.
func (r *review) details(e klaxon.Event) string {
	var parts []string
	add := func(name, v string) {
		if v != "" {
			parts = append(parts, name+" "+v)
		}
	}
	add("alert", e.Alert)
	if e.Step != nil && !strings.HasPrefix(e.Text, "step ") { // an escalation's text says its step
		add("step", step(e.Step))
	}
	if e.Notification != 0 {
		add("page", "#"+strconv.Itoa(e.Notification))
	}
	add("user", r.whoOrEmpty(e.User))
	add("via", e.Via)
	add("by", r.whoOrEmpty(e.By))
	add("how", e.How)
	add("token", e.ViaToken)
	if t := strings.TrimSpace(e.Text); t != "" {
		parts = append(parts, t)
	}
	return strings.Join(parts, " · ")
}

// who names user id: "alice (Alice Chen)", or "alice" when users does
// not know a name; "" is "—".
func (r *review) who(id string) string {
	if id == "" {
		return "—"
	}
	return r.whoOrEmpty(id)
}

func (r *review) whoOrEmpty(id string) string {
	if id == "" || r.users == nil {
		return id
	}
	if u, ok := r.users(id); ok && u.Name != "" && u.Name != id {
		return id + " (" + u.Name + ")"
	}
	return id
}
