package incident

import (
	"cmp"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The lifecycle of an incident, triggered → acknowledged → resolved, and
// back to triggered: pure functions of the incident and now, which the
// pipeline (Apply), the engine and the commands of people share.

// Acknowledge acknowledges inc on behalf of who (acting by api, sms,
// voice, email): escalation stops and pending pages are dropped. An
// incident already acknowledged stays as it is, but for its policy's
// ack_timeout, which restarts from now (a responder still on it says so
// again, as PagerDuty's re-acknowledgement); a snooze is left to run,
// and a tool's acknowledge event (HowEvents), which it may send each
// time its check runs, changes nothing. A resolved one cannot be
// acknowledged.
func Acknowledge(inc *klaxon.Incident, now time.Time, who klaxon.Actor) (changed bool, err error) {
	switch inc.State {
	case klaxon.StateAcknowledged:
		if inc.Policy.AckTimeout <= 0 || !inc.SnoozedUntil.IsZero() || !now.After(inc.AckedAt) || who.How == klaxon.HowEvents {
			return false, nil
		}
		inc.AckedAt, inc.AckedBy = now, cmp.Or(who.By, inc.AckedBy)
		e := who.Event(now, klaxon.EventAcknowledged)
		e.Text = klaxon.AckAgain + "the ack timeout of " + inc.Policy.AckTimeout.String() + " restarts"
		inc.Record(e)
		return true, nil
	case klaxon.StateResolved:
		return false, klaxon.Conflict("cannot acknowledge: it is resolved")
	}
	acknowledge(inc, now, who, "acknowledged")
	inc.Record(who.Event(now, klaxon.EventAcknowledged))
	return true, nil
}

// Snooze silences inc for d: it is acknowledged until then, and triggers
// again and walks its policy from the first step when d has passed (see
// Retrigger). d is at most limit (klaxon.DefaultMaxSnooze when limit is
// not positive), whoever asks: the domain holds the bound, not each
// caller.
func Snooze(inc *klaxon.Incident, now time.Time, d, limit time.Duration, who klaxon.Actor) error {
	if inc.State == klaxon.StateResolved {
		return klaxon.Conflict("cannot snooze: it is resolved")
	}
	if limit <= 0 {
		limit = klaxon.DefaultMaxSnooze
	}
	switch {
	case d <= 0:
		return klaxon.Invalid("duration", "must be positive, got %s", d)
	case d > limit:
		return klaxon.Invalid("duration", "a snooze lasts at most %s, got %s: resolve the incident instead", klaxon.Span(limit), klaxon.Span(d))
	}
	acknowledge(inc, now, who, "snoozed")
	inc.SnoozedUntil = now.Add(d)
	e := who.Event(now, klaxon.EventSnoozed)
	e.Text = "until " + inc.SnoozedUntil.UTC().Format(time.RFC3339)
	inc.Record(e)
	return nil
}

// Resolve resolves inc by hand (who) or by itself (who.How "auto"):
// escalation stops and nothing pending is sent. Resolving a resolved
// incident changes nothing.
func Resolve(inc *klaxon.Incident, now time.Time, who klaxon.Actor) (changed bool) {
	if inc.State == klaxon.StateResolved {
		return false
	}
	inc.State = klaxon.StateResolved
	inc.ResolvedAt = now
	inc.ResolvedBy = who.By
	silence(inc, now, "resolved")
	inc.Record(who.Event(now, klaxon.EventResolved))
	return true
}

// Retrigger turns an acknowledged incident back to triggered, to walk its
// policy again from the first step: its snooze ended, or its policy's
// ack_timeout. why goes on the timeline.
func Retrigger(inc *klaxon.Incident, now time.Time, why string) {
	Trigger(inc)
	inc.Escalation = klaxon.Escalation{Step: -1}
	inc.Record(klaxon.Event{At: now, Kind: klaxon.EventTriggered, Text: why})
}

// Trigger makes inc triggered: an acknowledgement or a snooze ends, and
// an acknowledged incident's walk starts anew from this point of its
// timeline, having reached nobody yet (a hand's escalation of an
// acknowledged incident records no trigger, which would say so). The
// rest of its escalation is the caller's to set.
func Trigger(inc *klaxon.Incident) {
	if inc.State == klaxon.StateAcknowledged {
		inc.WalkFrom = inc.Seq
		inc.Escalation.Reached, inc.Escalation.ReachedTrimmed, inc.Escalation.Fallback = false, false, false
		inc.Walked, inc.WalkedAll = nil, true
	}
	inc.State = klaxon.StateTriggered
	inc.AckedAt, inc.AckedBy, inc.SnoozedUntil = time.Time{}, "", time.Time{}
}

// acknowledge makes inc acknowledged by who at now, and silent; why
// says how (acknowledged, snoozed).
func acknowledge(inc *klaxon.Incident, now time.Time, who klaxon.Actor, why string) {
	inc.State = klaxon.StateAcknowledged
	inc.AckedAt, inc.AckedBy = now, who.By
	assignFirst(inc, who)
	silence(inc, now, why)
}

// silence stops the escalation of inc: no step is due, and the pages not
// yet sent are dropped. A page whose tries failed, and that was to be
// tried again, is given up: the timeline says so, and why (as an
// escalation's does), for the review, which would otherwise know of its
// failed tries alone. One whose next try came due may be with its
// provider now, and go out (see escalate's fire): the engine records
// what became of it, and the review says it was not tried again when
// nothing did.
func silence(inc *klaxon.Incident, now time.Time, why string) {
	GiveUpRetries(inc, now, why, func(n klaxon.Notification) bool { return n.Due.After(now) })
	inc.Pending = nil
	inc.Escalation.NextAt, inc.Escalation.RaiseDue = time.Time{}, time.Time{}
}

// GiveUpRetries gives up the pending notifications of inc that failed a
// try and are to be tried again, those that keep says, and records on
// the timeline that it did, and why. One its channel held back since
// its last failed try (Notification.Deferred) is among them: a silence
// drops it too, and says so; the escalation's keep passes it over, as
// it waits for the time its channel gave, not for a try.
func GiveUpRetries(inc *klaxon.Incident, now time.Time, why string, keep func(klaxon.Notification) bool) {
	out := inc.Pending[:0]
	for _, n := range inc.Pending {
		if s := inc.FindSent(n.ID); s != nil && s.Tries > 0 && keep(n) {
			step := n.Step
			inc.Record(klaxon.Event{At: now, Kind: klaxon.EventPageFailed, Step: &step, Notification: n.ID, User: n.User, Via: n.Via,
				Text: fmt.Sprintf("not tried again after %d failed tries: %s", s.Tries, why)})
			continue
		}
		out = append(out, n)
	}
	inc.Pending = out
}
