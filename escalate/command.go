package escalate

import (
	"fmt"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

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
	incident.Trigger(inc)
	inc.Pending = nil
	_, err := pageStep(inc, now, next, round, users, who)
	return err
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
