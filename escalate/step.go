// Package escalate walks escalation policies: it decides which step is due
// (pure functions of the incident and the time), runs the engine that claims
// due timers and pages, and carries out the commands people give
// (acknowledge, resolve).
package escalate

import (
	"fmt"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Advance moves inc's escalation forward to now and reports whether it
// changed inc. When a step is due it pages that step: one pending
// notification per user and notification rule, due at now plus the rule's
// delay. After the last step it starts the next round while policy repeat
// allows, and then stops. An acknowledgement older than the policy's
// ack_timeout re-triggers the incident and the walk starts again.
//
// A step that fell due while nobody was running fires once, now, and the
// next step is timed from now: an outage never pages several steps at once.
// A snoozed incident triggers again the same way when its snooze ends.
func Advance(inc *klaxon.Incident, now time.Time, users func(klaxon.Step) []klaxon.User) bool {
	changed := false
	if inc.State == klaxon.StateAcknowledged {
		switch until := wakeAt(inc); {
		case until.IsZero() || now.Before(until):
		case !inc.SnoozedUntil.IsZero() && !now.Before(inc.SnoozedUntil):
			retrigger(inc, now, "snooze ended")
			changed = true
		default:
			retrigger(inc, now, "acknowledgement timed out after "+inc.Policy.AckTimeout.String())
			changed = true
		}
	}
	esc := &inc.Escalation
	if inc.State != klaxon.StateTriggered || esc.Done || len(inc.Policy.Steps) == 0 {
		return changed
	}
	if esc.Step >= 0 && now.Before(esc.NextAt) {
		return changed
	}
	next, round := esc.Step+1, esc.Round
	if next >= len(inc.Policy.Steps) {
		if round >= inc.Policy.Repeat {
			esc.Done, esc.NextAt = true, time.Time{}
			inc.Record(klaxon.Event{At: now, Kind: klaxon.EventExhausted, Text: fmt.Sprintf("every step paged %d times; nobody acknowledged", round+1)})
			return true
		}
		next, round = 0, round+1
	}
	pageStep(inc, now, next, round, users, "", "")
	return true
}

// wakeAt is when an acknowledged incident triggers again by itself: the
// end of its snooze, else the end of its policy's ack timeout; zero when
// neither applies.
func wakeAt(inc *klaxon.Incident) time.Time {
	if !inc.SnoozedUntil.IsZero() {
		return inc.SnoozedUntil
	}
	if inc.Policy.AckTimeout > 0 {
		return inc.AckedAt.Add(inc.Policy.AckTimeout)
	}
	return time.Time{}
}

// retrigger turns an acknowledged incident back to triggered, to walk its
// policy again from the first step.
func retrigger(inc *klaxon.Incident, now time.Time, why string) {
	inc.State = klaxon.StateTriggered
	inc.AckedAt, inc.AckedBy, inc.SnoozedUntil = time.Time{}, "", time.Time{}
	inc.Escalation = klaxon.Escalation{Step: -1}
	inc.Record(klaxon.Event{At: now, Kind: klaxon.EventTriggered, Text: why})
}

// pageStep pages step i of round: one pending notification per user and
// notification rule of the incident's urgency, due at now plus the rule's
// delay; the next step is
// due escalate_after from now.
func pageStep(inc *klaxon.Incident, now time.Time, i, round int, users func(klaxon.Step) []klaxon.User, by, how string) {
	step := inc.Policy.Steps[i]
	inc.Escalation = klaxon.Escalation{Step: i, Round: round, NextAt: now.Add(step.EscalateAfter)}
	for _, u := range users(step) {
		for _, rule := range u.Notify {
			if !rule.Applies(inc.Urgency) {
				continue
			}
			inc.Seq++
			inc.Pending = append(inc.Pending, klaxon.Notification{
				ID: inc.Seq, User: u.ID, Via: rule.Via, Due: now.Add(rule.After), Step: i, Round: round,
			})
		}
	}
	inc.Record(klaxon.Event{At: now, Kind: klaxon.EventEscalated, Step: &i, By: by, How: how, Text: stepText(step, i, round)})
}

func stepText(s klaxon.Step, i, round int) string {
	targets := make([]string, len(s.Targets))
	for j, t := range s.Targets {
		targets[j] = t.String()
	}
	txt := fmt.Sprintf("step %d: %s", i+1, strings.Join(targets, ", "))
	if round > 0 {
		txt += fmt.Sprintf(" (repeat %d)", round)
	}
	return txt
}

// Due returns inc's pending notifications due at now.
func Due(inc *klaxon.Incident, now time.Time) []klaxon.Notification {
	var due []klaxon.Notification
	for _, n := range inc.Pending {
		if !n.Due.After(now) {
			due = append(due, n)
		}
	}
	return due
}

// NextDue is when inc next needs the engine: its earliest pending
// notification, its next step, or the end of its ack timeout. Zero when it
// needs nothing more.
func NextDue(inc *klaxon.Incident) time.Time {
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	switch inc.State {
	case klaxon.StateTriggered:
		for _, n := range inc.Pending {
			earliest(n.Due)
		}
		switch {
		case inc.Escalation.Done || len(inc.Policy.Steps) == 0:
		case inc.Escalation.Step < 0:
			earliest(inc.CreatedAt)
		default:
			earliest(inc.Escalation.NextAt)
		}
	case klaxon.StateAcknowledged:
		earliest(wakeAt(inc))
	}
	return next
}

// timerCommit sets inc's timer to NextDue, or cancels it when there is
// none, on c.
func timerCommit(c *klaxon.Commit, inc *klaxon.Incident) {
	if due := NextDue(inc); !due.IsZero() {
		c.Timers = append(c.Timers, klaxon.Timer{Incident: inc.ID, Group: inc.Group, Due: due})
		return
	}
	c.Cancel = append(c.Cancel, inc.ID)
}

// NextRuleNow makes user's next pending notification of inc due at now,
// when a page to them failed: the next contact method is tried at once,
// not after its delay. It reports whether it changed anything.
func NextRuleNow(inc *klaxon.Incident, user string, now time.Time) bool {
	next := -1
	for i, n := range inc.Pending {
		if n.User == user && n.Due.After(now) && (next < 0 || n.Due.Before(inc.Pending[next].Due)) {
			next = i
		}
	}
	if next < 0 {
		return false
	}
	inc.Pending[next].Due = now
	return true
}
