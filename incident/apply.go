// Package incident is Klaxon's incident state machine: deduplication,
// correlation and lifecycle, as a pure function of the group's open
// incident, the alerts that arrived, and the time.
package incident

import (
	"maps"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Template is what a new incident of a group starts with.
type Template struct {
	Group  string
	Labels map[string]string
	Policy klaxon.Policy
	// Urgency of the incident; "" takes it from the first alert's severity.
	Urgency klaxon.Urgency
	// KeepOpen turns auto-resolve off for the incidents it opens (see
	// klaxon.Incident.KeepOpen).
	KeepOpen bool
	// Silenced are the keys of alerts a maintenance window holds: they
	// join, and raise no urgency (see raise).
	Silenced map[string]bool
}

// Result is what Apply changed.
type Result struct {
	// Incident is the header of the group's incident after Apply: the open
	// one, a new one, or the one Apply resolved, with the alerts that
	// changed in Changed and the new timeline entries in Recorded. Nil
	// when Apply had nothing to do.
	Incident *klaxon.Incident
	// Opened: Incident is new and needs an ID and its first page.
	Opened bool
	// Resolved: every alert of Incident resolved and so did Incident.
	Resolved bool
	// Changed: there is something to commit.
	Changed bool
	// Index lists alert keys that joined Incident.
	Index []string
	// Raised: an alert raised the urgency of Incident, which had paged
	// already: the engine must page for it now (Escalation.RaiseDue).
	Raised bool
}

// Apply folds alerts, in order, into the group whose open incident is
// open (nil when the group has none) and returns the outcome. known holds
// what the open incident keeps of the alerts that the delivery names (an
// alert absent from it is new to the incident): Apply never needs the
// other alerts, nor the labels of these, so its cost follows the
// delivery, not the incident. open and known are not modified:
// Result.Incident is a copy.
//
//   - A firing alert with no open incident opens one.
//   - A firing alert already in the incident updates it and its last_seen;
//     its count rises only when it is a new occurrence (a later starts_at);
//     a report with an earlier start, or none, or a renotification
//     (Alert.Repeat), is of the same occurrence; one that continues it
//     (Alert.Continues) moves its start and not its count.
//     The same occurrence seen again within LastSeenEvery changes nothing,
//     so a sender's retry of the same body is a no-op.
//   - A report of an occurrence before the one the incident holds came
//     late, and changes nothing: a firing one that started before the
//     alert's last occurrence resolved, a resolve that ended before the
//     occurrence firing started.
//   - A firing alert new to the incident joins it; it does not page again.
//   - A firing alert of high urgency (its severity's) raises the urgency of
//     an incident of low urgency, unless the route sets the urgency or a
//     maintenance window holds the alert (see raise). It is never lowered.
//   - A resolved alert resolves its alert in the incident; when none is left
//     firing the incident resolves, unless the route that opened it turned
//     auto_resolve off (Incident.KeepOpen): a resolve that comes by the
//     alert index knows no route.
//   - A resolve made late for an alert that moved to another group,
//     which finds it seen here since, firing, changes nothing of it: it
//     is indexed here again (Result.Index), which moves it back.
//   - A resolved alert for no open incident is ignored. (So is a firing
//     report late to the group's last closed incident: ingest drops it
//     before Apply, see Late.)
func Apply(open *klaxon.Incident, known map[string]klaxon.Seen, alerts []klaxon.Alert, now time.Time, tmpl Template) Result {
	var r Result
	var inc *klaxon.Incident
	if open != nil {
		inc = Clone(open)
	} else {
		known = nil // they belong to no incident
	}
	// Where in inc.Changed the record of each alert this delivery changed
	// is: what is known of such an alert is its record's; of the others,
	// known's.
	at := make(map[string]int, len(alerts))
	for _, a := range alerts {
		if inc == nil {
			if a.Status != klaxon.Firing {
				continue
			}
			inc = newIncident(a, now, tmpl)
			r.Opened = true
		}
		if inc.Changed == nil {
			inc.Changed = make([]klaxon.AlertState, 0, len(alerts))
		}
		var st klaxon.Seen
		i, ok := at[a.Key]
		if ok {
			st = inc.Changed[i].Seen()
		} else {
			st, ok = known[a.Key]
		}
		var stp *klaxon.Seen
		if ok {
			stp = &st
		}
		if ok && cameBack(st, a) {
			// It fires here, as routed again: indexed here again, its
			// move is told back (see klaxon.Commit.Moved).
			r.Index = append(r.Index, a.Key)
			r.Changed = true
			continue
		}
		next, changed := fold(inc, stp, a, now)
		if !changed {
			// Seen again, and nothing new to keep: it may still raise
			// the urgency it could not when it joined (a maintenance
			// window held it then).
			if a.Status == klaxon.Firing && stp != nil && stp.Status == klaxon.Firing {
				raised, page := raise(inc, tmpl, klaxon.Alert{Key: a.Key, Summary: stp.Summary, Severity: stp.Severity}, now)
				r.Changed = r.Changed || raised
				r.Raised = r.Raised || page
			}
			continue
		}
		r.Changed = true
		if next.Status == klaxon.Firing {
			_, page := raise(inc, tmpl, next.Alert, now)
			r.Raised = r.Raised || page
		}
		if stp == nil || (stp.Status == klaxon.Resolved && next.Status == klaxon.Firing) {
			// New, or firing again: it may have been indexed by another
			// group meanwhile (it moved there and back).
			r.Index = append(r.Index, a.Key)
		}
		if i, seen := at[a.Key]; seen {
			next.KeepDetails(inc.Changed[i]) // a partial report keeps what this delivery said
			inc.Changed[i] = next
		} else {
			at[a.Key] = len(inc.Changed)
			inc.Changed = append(inc.Changed, next)
		}
	}
	if inc == nil {
		return r
	}
	r.Incident = inc
	if r.Changed && inc.FiringCount == 0 && !inc.KeepOpen && inc.State.Open() {
		Resolve(inc, now, klaxon.Actor{How: "auto"})
		r.Resolved = true
		r.Index = nil
	}
	return r
}

// fold applies alert a to inc, which knows cur of it (nil when a is new to
// inc), and returns the alert's record after and whether anything
// changed. A report replaces what the record says of the alert; the
// record keeps its count and first sighting. fold keeps inc's counts and
// timeline in step.
func fold(inc *klaxon.Incident, cur *klaxon.Seen, a klaxon.Alert, now time.Time) (klaxon.AlertState, bool) {
	if cur == nil {
		if a.Status != klaxon.Firing {
			return klaxon.AlertState{}, false
		}
		inc.AlertCount++
		inc.FiringCount++
		if inc.AlertCount > 1 {
			inc.Record(klaxon.Event{At: now, Kind: klaxon.EventAlertJoined, Alert: a.Key, Text: a.Summary})
		}
		return klaxon.AlertState{Alert: a, Count: 1, FirstSeen: now, LastSeen: now}, true
	}
	switch {
	case Late(cur, a):
		return klaxon.AlertState{}, false
	case a.Status == klaxon.Firing && cur.Status == klaxon.Firing && startsBefore(cur, a):
		// The occurrence held, reported with an earlier start: by the
		// other Prometheus of a pair (Alertmanager keeps the earliest), or
		// late. It says that the alert still fires; the rest stays.
		a.Partial = true
	case a.Status == klaxon.Firing && cur.Status == klaxon.Firing && (a.StartsAt.IsZero() || a.Repeat):
		// No start (a PagerDuty event without a timestamp, a generic
		// event without starts_at), or a renotification dated when it
		// was sent: a report of the occurrence firing, as a sender's
		// retry is; it keeps its start.
		a.StartsAt = cur.StartsAt
	}
	next := klaxon.AlertState{Alert: a, Count: cur.Count, FirstSeen: cur.FirstSeen, LastSeen: now, Stored: cur.Stored}
	// A partial resolve may say why it resolved: its words go to the
	// timeline, and the alert keeps the summary it fired with.
	said := a.Summary
	if a.Partial { // says only its status: the rest stays as known
		next.Summary, next.Severity, next.StartsAt = cur.Summary, cur.Severity, cur.StartsAt
		a = next.Alert
	}
	if a.Status == klaxon.Resolved {
		// A resolve ends the occurrence it reports: the alert keeps the
		// severity it fired with, whatever the resolve says (a Datadog
		// recovery's alert_type is success).
		next.Severity = cur.Severity
	}
	switch {
	case a.Status == klaxon.Resolved && cur.Status == klaxon.Resolved:
		return klaxon.AlertState{}, false // a retry of a resolve
	case a.Status == klaxon.Resolved:
		inc.FiringCount--
		text := a.Summary
		if said != "" {
			text = said
		}
		if a.MovedTo != "" {
			text = "moved to incident " + a.MovedTo + ": " + a.Summary
			next.MovedTo = ""
		}
		inc.Record(klaxon.Event{At: now, Kind: klaxon.EventAlertResolved, Alert: a.Key, Text: text})
	case cur.Status == klaxon.Resolved:
		next.Count++
		inc.FiringCount++
		inc.Record(klaxon.Event{At: now, Kind: klaxon.EventAlertRefired, Alert: a.Key, Text: a.Summary})
	case SameOccurrence(cur, a) && a.Summary == cur.Summary && a.Severity == cur.Severity && now.Sub(cur.LastSeen) < LastSeenEvery:
		return klaxon.AlertState{}, false // nothing new, seen again lately
	case !SameOccurrence(cur, a) && !a.Continues:
		next.Count++
	}
	return next, true
}

// raise raises the urgency of inc, open, to high when firing alert a is
// of high urgency and inc of low, unless tmpl's route sets the urgency
// or a maintenance window holds a (tmpl.Silenced): a warning opened it and a critical
// alert joined it, or the alert became critical (Datadog's Warn → Alert),
// as PagerDuty's severity-based urgency does. inc takes a's severity,
// which its pages show. It reports whether it raised it, and whether the
// engine must page for it: inc is triggered and its walk has paged a
// step, whose people may have rules for high urgency only (see
// klaxon.Escalation.RaiseDue). A walk not begun yet pages at high urgency
// anyway; an acknowledged incident pages at it when it triggers again.
func raise(inc *klaxon.Incident, tmpl Template, a klaxon.Alert, now time.Time) (raised, page bool) {
	if inc.Urgency != klaxon.UrgencyLow || klaxon.UrgencyOf(a.Severity) != klaxon.UrgencyHigh || !inc.State.Open() ||
		tmpl.Urgency != "" || tmpl.Silenced[a.Key] {
		return false, false
	}
	inc.Urgency, inc.Severity = klaxon.UrgencyHigh, a.Severity
	inc.Record(klaxon.Event{At: now, Kind: klaxon.EventUrgencyRaised, Alert: a.Key,
		Text: "to high by a " + a.Severity + " alert: " + a.Summary})
	if inc.State != klaxon.StateTriggered || inc.Escalation.Step < 0 {
		return true, false
	}
	inc.Escalation.RaiseDue = now
	return true, true
}

// cameBack reports whether a, a resolve made late for an alert that
// moved to another group (its EndsAt when it moved), finds it firing
// here, seen since it moved: routed here again (a route rolled back).
func cameBack(cur klaxon.Seen, a klaxon.Alert) bool {
	return a.MovedTo != "" && !a.EndsAt.IsZero() && cur.Status == klaxon.Firing && cur.LastSeen.After(a.EndsAt)
}

// LastSeenEvery is how often a firing alert that is seen again, as the
// same occurrence with the same summary, moves its last_seen: a sender's
// retries and repeated notifications within it change nothing, and cost no
// commit.
const LastSeenEvery = time.Minute

// Late reports whether a is a report of an occurrence before the one
// cur holds, delivered late (a retry that lost a race, another
// Alertmanager of a cluster): a firing one that started before the
// occurrence cur holds resolved started, or a resolve that ended before
// the one firing started. It changes nothing: the alert neither fires
// again nor resolves. A firing report with the start of the occurrence
// that resolved is not late: a Prometheus that restarted sends an alert
// still firing with the start it restored, after Alertmanager resolved
// it for want of reports, and that alert pages again rather than go
// unseen. A source that gives no times has no order.
func Late(cur *klaxon.Seen, a klaxon.Alert) bool {
	switch {
	case a.Partial:
		return false // it says only its status: no time to order it by
	case a.Status == klaxon.Firing:
		return cur.Status == klaxon.Resolved && startsBefore(cur, a)
	}
	return cur.Status == klaxon.Firing && !a.EndsAt.IsZero() && a.EndsAt.Before(cur.StartsAt)
}

// startsBefore reports whether a started before the occurrence cur holds.
func startsBefore(cur *klaxon.Seen, a klaxon.Alert) bool {
	return !a.StartsAt.IsZero() && !cur.StartsAt.IsZero() && a.StartsAt.Before(cur.StartsAt)
}

// SameOccurrence reports whether firing alert a is the occurrence cur
// already holds, firing: it has the same start. An alert of a source
// that gives no start fires once until it resolves.
func SameOccurrence(cur *klaxon.Seen, a klaxon.Alert) bool {
	return a.StartsAt.Equal(cur.StartsAt)
}

func newIncident(a klaxon.Alert, now time.Time, tmpl Template) *klaxon.Incident {
	inc := &klaxon.Incident{
		Group:      tmpl.Group,
		Summary:    a.Summary,
		Severity:   a.Severity,
		Urgency:    tmpl.Urgency,
		KeepOpen:   tmpl.KeepOpen,
		Labels:     maps.Clone(tmpl.Labels),
		State:      klaxon.StateTriggered,
		CreatedAt:  now,
		Policy:     tmpl.Policy,
		Escalation: klaxon.Escalation{Step: -1},
		WalkedAll:  true,
	}
	if inc.Urgency == "" {
		inc.Urgency = klaxon.UrgencyOf(a.Severity)
	}
	inc.Record(klaxon.Event{At: now, Kind: klaxon.EventTriggered, Alert: a.Key, Text: a.Summary})
	return inc
}

// Clone returns a deep copy of inc's header, so that a change computed
// from a stored incident never aliases it.
func Clone(inc *klaxon.Incident) *klaxon.Incident {
	c := inc.Header()
	c.Changed = slices.Clone(inc.Changed)
	c.Recorded = slices.Clone(inc.Recorded)
	return c
}
