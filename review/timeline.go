package review

import (
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// What the review and the report read from a timeline: which events are
// the incident's own, when it was first acknowledged and resolved.

// copied marks the events of timeline that a merge copied there from
// another incident: each names it (Event.From). A merge copies in
// several commits, and the incident's own events come between them (a
// note, a page), so the copies need not follow their merged event in one
// run. Copies made before Event.From was kept are known as before: those
// that follow a merged event whose text names the incident ("#ID ..."),
// in one run, each with a text that begins "#ID: " and a time no later
// than the merge's.
func copied(timeline []klaxon.Event) []bool {
	out := make([]bool, len(timeline))
	for i, e := range timeline {
		out[i] = e.From != ""
	}
	for i := 0; i < len(timeline); i++ {
		m := timeline[i]
		if m.Kind != klaxon.EventMerged || !strings.HasPrefix(m.Text, "#") {
			continue
		}
		id, _, _ := strings.Cut(m.Text[1:], " ")
		prefix := "#" + id + ": "
		for i+1 < len(timeline) && strings.HasPrefix(timeline[i+1].Text, prefix) && !timeline[i+1].At.After(m.At) {
			i++
			out[i] = true
		}
	}
	return out
}

// own returns the events of timeline that are the incident's own: all
// but those a merge copied from another incident (see copied).
func own(timeline []klaxon.Event) []klaxon.Event {
	c := copied(timeline)
	out := make([]klaxon.Event, 0, len(timeline))
	for i, e := range timeline {
		if !c[i] {
			out = append(out, e)
		}
	}
	return out
}

// acked returns the incident's first acknowledgement among its own
// events: an acknowledged event, or a snoozed one (a snooze acknowledges
// the incident, as in incident.Snooze). When the timeline has none, the
// header's AckedAt stands in for it (a timeline read in part), with
// AckedBy. ok is false when the incident was never acknowledged.
func acked(inc *klaxon.Incident, events []klaxon.Event) (e klaxon.Event, ok bool) {
	for _, e := range events {
		if e.Kind == klaxon.EventAcknowledged || e.Kind == klaxon.EventSnoozed {
			return e, true
		}
	}
	if !inc.AckedAt.IsZero() {
		return klaxon.Event{At: inc.AckedAt, Kind: klaxon.EventAcknowledged, By: inc.AckedBy}, true
	}
	return klaxon.Event{}, false
}

// ackStep returns the step of the policy the incident's walk had reached
// when it was first acknowledged (see acked), as its own events say: that
// of the latest escalation before it, -1 for the fallback paged after a
// walk that reached nobody; nil when there is none (a walk that paged no
// step, a timeline without the acknowledgement).
func ackStep(events []klaxon.Event) *int {
	var cur *int
	for _, e := range events {
		switch e.Kind {
		case klaxon.EventAcknowledged, klaxon.EventSnoozed:
			return cur
		case klaxon.EventEscalated:
			if e.Step != nil {
				s := *e.Step
				cur = &s
			}
		case klaxon.EventFallback:
			fallback := -1
			cur = &fallback
		}
	}
	return nil
}

// resolved returns the incident's resolve among its own events, else
// one made of the header's ResolvedAt and ResolvedBy. ok is false while
// the incident is not resolved.
func resolved(inc *klaxon.Incident, events []klaxon.Event) (e klaxon.Event, ok bool) {
	for _, e := range events {
		if e.Kind == klaxon.EventResolved {
			return e, true
		}
	}
	if !inc.ResolvedAt.IsZero() {
		return klaxon.Event{At: inc.ResolvedAt, Kind: klaxon.EventResolved, By: inc.ResolvedBy}, true
	}
	return klaxon.Event{}, false
}

// escalatedBeforeAck reports whether the incident's walk went past its
// first step before anyone acknowledged it: an escalated event of a step
// after the first (Step ≥ 1) comes before the first acknowledgement, or
// there is none.
func escalatedBeforeAck(events []klaxon.Event) bool {
	for _, e := range events {
		switch {
		case e.Kind == klaxon.EventAcknowledged || e.Kind == klaxon.EventSnoozed:
			return false
		case e.Kind == klaxon.EventEscalated && e.Step != nil && *e.Step >= 1:
			return true
		}
	}
	return false
}

// alertEvent reports whether e is an alert's event: an alert opened the
// incident (triggered, with an alert; a trigger after an ack timeout or
// a snooze has none), joined it or fired again.
func alertEvent(e klaxon.Event) bool {
	switch e.Kind {
	case klaxon.EventTriggered:
		return e.Alert != ""
	case klaxon.EventAlertJoined, klaxon.EventAlertRefired:
		return true
	}
	return false
}

// since says how long after from at is, rounded to the second.
func since(from, at time.Time) Duration { return Duration(at.Sub(from)) }
