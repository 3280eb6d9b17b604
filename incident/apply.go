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
	// KeepOpen turns auto-resolve off: the incident stays open when all
	// its alerts resolve, until someone resolves it.
	KeepOpen bool
}

// Result is what Apply changed.
type Result struct {
	// Incident is the group's incident after Apply: the open one, a new
	// one, or the one Apply resolved. Nil when Apply had nothing to do.
	Incident *klaxon.Incident
	// Opened: Incident is new and needs an ID and its first page.
	Opened bool
	// Resolved: every alert of Incident resolved and so did Incident.
	Resolved bool
	// Changed: there is something to commit.
	Changed bool
	// Index lists alert keys that joined Incident; Unindex those that
	// left the index because Incident resolved.
	Index   []string
	Unindex []string
}

// Apply folds alerts, in order, into the group whose open incident is
// open (nil when the group has none) and returns the outcome. open is not
// modified: Result.Incident is a copy.
//
//   - A firing alert with no open incident opens one.
//   - A firing alert already in the incident updates it and its last_seen;
//     its count rises only when it is a new occurrence (another starts_at).
//     The same occurrence seen again within LastSeenEvery changes nothing,
//     so a sender's retry of the same body is a no-op.
//   - A firing alert new to the incident joins it; it does not page again.
//   - A resolved alert resolves its alert in the incident; when none is left
//     firing the incident resolves (unless tmpl.KeepOpen).
//   - A resolved alert for no open incident is ignored.
func Apply(open *klaxon.Incident, alerts []klaxon.Alert, now time.Time, tmpl Template) Result {
	var r Result
	var inc *klaxon.Incident
	if open != nil {
		inc = Clone(open)
	}
	for _, a := range alerts {
		if inc == nil {
			if a.Status != klaxon.Firing {
				continue
			}
			inc = newIncident(a, now, tmpl)
			r.Opened = true
		}
		changed, joined := fold(inc, a, now)
		r.Changed = r.Changed || changed
		if joined {
			r.Index = append(r.Index, a.Key)
		}
	}
	if inc == nil {
		return r
	}
	r.Incident = inc
	if r.Changed && inc.Firing() == 0 && !tmpl.KeepOpen && inc.State.Open() {
		Resolve(inc, now, "", "auto")
		r.Resolved = true
		r.Index = nil
		r.Unindex = alertKeys(inc)
		if r.Opened {
			// Opened and resolved by the same delivery: nothing to page and
			// nothing to keep open.
			r.Unindex = nil
		}
	}
	return r
}

// fold applies one alert to inc and reports whether anything changed and
// whether the alert is new to the incident.
func fold(inc *klaxon.Incident, a klaxon.Alert, now time.Time) (changed, joined bool) {
	i := inc.FindAlert(a.Key)
	if i < 0 {
		if a.Status != klaxon.Firing {
			return false, false
		}
		inc.Alerts = append(inc.Alerts, klaxon.AlertState{Alert: a, Count: 1, FirstSeen: now, LastSeen: now})
		if len(inc.Alerts) > 1 {
			inc.Record(klaxon.Event{At: now, Kind: klaxon.EventAlertJoined, Alert: a.Key, Text: a.Summary})
		}
		return true, true
	}
	cur := &inc.Alerts[i]
	switch {
	case a.Status == klaxon.Resolved && cur.Status == klaxon.Resolved:
		return false, false // a retry of a resolve
	case a.Status == klaxon.Resolved:
		cur.Alert = a
		cur.LastSeen = now
		inc.Record(klaxon.Event{At: now, Kind: klaxon.EventAlertResolved, Alert: a.Key, Text: a.Summary})
	case cur.Status == klaxon.Resolved:
		cur.Alert = a
		cur.Count++
		cur.LastSeen = now
		inc.Record(klaxon.Event{At: now, Kind: klaxon.EventAlertRefired, Alert: a.Key, Text: a.Summary})
	case sameOccurrence(cur, a) && a.Summary == cur.Summary && a.Severity == cur.Severity && now.Sub(cur.LastSeen) < LastSeenEvery:
		return false, false // nothing new, seen again lately
	default:
		if !sameOccurrence(cur, a) {
			cur.Count++
		}
		cur.Alert = a
		cur.LastSeen = now
	}
	return true, false
}

// LastSeenEvery is how often a firing alert that is seen again, as the
// same occurrence with the same summary, moves its last_seen: a sender's
// retries and repeated notifications within it change nothing, and cost no
// commit.
const LastSeenEvery = time.Minute

// sameOccurrence reports whether firing alert a is the occurrence cur
// already holds: a source that gives no start makes every report a new
// one.
func sameOccurrence(cur *klaxon.AlertState, a klaxon.Alert) bool {
	return !a.StartsAt.IsZero() && a.StartsAt.Equal(cur.StartsAt)
}

func newIncident(a klaxon.Alert, now time.Time, tmpl Template) *klaxon.Incident {
	inc := &klaxon.Incident{
		Group:      tmpl.Group,
		Summary:    a.Summary,
		Severity:   a.Severity,
		Urgency:    tmpl.Urgency,
		Labels:     maps.Clone(tmpl.Labels),
		State:      klaxon.StateTriggered,
		CreatedAt:  now,
		Policy:     tmpl.Policy,
		Escalation: klaxon.Escalation{Step: -1},
	}
	if inc.Urgency == "" {
		inc.Urgency = klaxon.UrgencyOf(a.Severity)
	}
	inc.Record(klaxon.Event{At: now, Kind: klaxon.EventTriggered, Alert: a.Key, Text: a.Summary})
	return inc
}

// Resolve resolves inc by hand (by, how) or by itself (how "auto"):
// escalation stops and nothing pending is sent.
func Resolve(inc *klaxon.Incident, now time.Time, by, how string) {
	inc.State = klaxon.StateResolved
	inc.ResolvedAt = now
	inc.ResolvedBy = by
	inc.Pending = nil
	inc.Escalation.NextAt = time.Time{}
	inc.Record(klaxon.Event{At: now, Kind: klaxon.EventResolved, By: by, How: how})
}

func alertKeys(inc *klaxon.Incident) []string {
	keys := make([]string, len(inc.Alerts))
	for i := range inc.Alerts {
		keys[i] = inc.Alerts[i].Key
	}
	return keys
}

// Clone returns a deep copy of inc, so that a change computed from a
// stored incident never aliases it.
func Clone(inc *klaxon.Incident) *klaxon.Incident {
	c := *inc
	c.Labels = maps.Clone(inc.Labels)
	c.Alerts = slices.Clone(inc.Alerts)
	c.Timeline = slices.Clone(inc.Timeline)
	c.Pending = slices.Clone(inc.Pending)
	c.Policy.Steps = slices.Clone(inc.Policy.Steps)
	return &c
}
