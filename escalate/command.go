package escalate

import (
	"fmt"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// Acknowledge acknowledges inc on behalf of who (acting by api, sms, voice,
// email): escalation stops and pending pages are dropped. An incident
// already acknowledged stays as it is; a resolved one cannot be.
func Acknowledge(inc *klaxon.Incident, now time.Time, who klaxon.Actor) (changed bool, err error) {
	switch inc.State {
	case klaxon.StateAcknowledged:
		return false, nil
	case klaxon.StateResolved:
		return false, fmt.Errorf("acknowledge incident %s: it is resolved: %w", inc.ID, klaxon.ErrConflict)
	}
	inc.State = klaxon.StateAcknowledged
	inc.AckedAt, inc.AckedBy = now, who.By
	inc.Pending = nil
	inc.Escalation.NextAt = time.Time{}
	inc.Record(who.Event(now, klaxon.EventAcknowledged))
	return true, nil
}

// Resolve resolves inc by hand. Resolving a resolved incident changes
// nothing.
func Resolve(inc *klaxon.Incident, now time.Time, who klaxon.Actor) (changed bool) {
	if inc.State == klaxon.StateResolved {
		return false
	}
	incident.Resolve(inc, now, who)
	return true
}

// Escalate pages the step after the current one now, whatever its
// escalate_after; after the last step it starts from the first again. An
// acknowledged incident triggers again.
func Escalate(inc *klaxon.Incident, now time.Time, users func(klaxon.Step) []klaxon.User, who klaxon.Actor) error {
	return escalate(inc, now, func(s klaxon.Step) ([]klaxon.User, []string, error) { return users(s), nil, nil }, who)
}

// escalate is Escalate with users that may say why a step reaches nobody,
// or fail. A step that pages nobody is walked on from at once.
func escalate(inc *klaxon.Incident, now time.Time, users Users, who klaxon.Actor) error {
	if inc.State == klaxon.StateResolved {
		return fmt.Errorf("escalate incident %s: it is resolved: %w", inc.ID, klaxon.ErrConflict)
	}
	if len(inc.Policy.Steps) == 0 {
		return fmt.Errorf("escalate incident %s: policy %s has no steps: %w", inc.ID, inc.Policy.Name, klaxon.ErrConflict)
	}
	next, round := inc.Escalation.Step+1, inc.Escalation.Round
	if next >= len(inc.Policy.Steps) {
		next, round = 0, round+1
	}
	// Resolved before anything changes: a lookup that fails leaves inc as
	// it was.
	if _, _, err := users(inc.Policy.Steps[next]); err != nil {
		return fmt.Errorf("escalate incident %s: %w", inc.ID, err)
	}
	if inc.State == klaxon.StateAcknowledged {
		inc.WalkFrom = inc.Seq // it triggers again
	}
	inc.State = klaxon.StateTriggered
	inc.AckedAt, inc.AckedBy, inc.SnoozedUntil = time.Time{}, "", time.Time{}
	inc.Pending = nil
	_, err := pageStep(inc, now, next, round, users, who)
	return err
}

// Snooze silences inc for d: it is acknowledged until then, and triggers
// again and walks its policy from the first step when d has passed. d is
// at most limit (klaxon.DefaultMaxSnooze when limit is not positive),
// whoever asks: the domain holds the bound, not each caller.
func Snooze(inc *klaxon.Incident, now time.Time, d, limit time.Duration, who klaxon.Actor) error {
	if inc.State == klaxon.StateResolved {
		return fmt.Errorf("snooze incident %s: it is resolved: %w", inc.ID, klaxon.ErrConflict)
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
	inc.State = klaxon.StateAcknowledged
	inc.AckedAt, inc.AckedBy = now, who.By
	inc.SnoozedUntil = now.Add(d)
	inc.Pending = nil
	inc.Escalation.NextAt = time.Time{}
	e := who.Event(now, klaxon.EventSnoozed)
	e.Text = "until " + inc.SnoozedUntil.UTC().Format(time.RFC3339)
	inc.Record(e)
	return nil
}

// Once makes act, a command on an incident, one that may change it once
// for who.Once (see klaxon.Actor): an incident that recorded who.Once
// refuses it with an error matching klaxon.ErrUsed, and an act that
// changes the incident records who.Once with the change, in the same
// commit. An act that fails, or changes nothing, leaves it unused.
func Once(who klaxon.Actor, act func(*klaxon.Incident, time.Time) (bool, error)) func(*klaxon.Incident, time.Time) (bool, error) {
	if who.Once == "" {
		return act
	}
	return func(inc *klaxon.Incident, now time.Time) (bool, error) {
		if slices.Contains(inc.Once, who.Once) {
			return false, fmt.Errorf("incident %s: %s: %w", inc.ID, who.Once, klaxon.ErrUsed)
		}
		changed, err := act(inc, now)
		if err == nil && changed {
			inc.Once = append(inc.Once, who.Once)
		}
		return changed, err
	}
}
