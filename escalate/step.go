// Package escalate walks escalation policies: it decides which step is due
// (pure functions of the incident and the time), runs the engine that claims
// due timers and pages, and carries out the commands people give
// (acknowledge, resolve, escalate, snooze), whose changes to an incident's
// state are incident's lifecycle.
package escalate

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// Users resolves a step's targets to the users it pages, each once. why
// says, for each target that reaches nobody, why not (nobody on call, an
// unknown user). An error, such as an on-call lookup that failed, means
// the step cannot be paged now: the walk stops and is tried again.
type Users func(klaxon.Step) (users []klaxon.User, why []string, err error)

// Advance is Walk with users that always resolve and no fallback.
func Advance(inc *klaxon.Incident, now time.Time, users func(klaxon.Step) []klaxon.User) bool {
	changed, _ := Walk(inc, now, func(s klaxon.Step) ([]klaxon.User, []string, error) { return users(s), nil, nil }, nil)
	return changed
}

// Walk moves inc's escalation forward to now and reports whether it
// changed inc. When a step is due it pages that step: one pending
// notification per user and notification rule, due at now plus the rule's
// delay. A step that pages nobody records why on the timeline and the
// walk moves on to the next step at once. After the last step it starts
// the next round while policy repeat allows, and then stops; if no page
// went out since the walk began, it pages fallback instead of nobody. An
// acknowledgement older than the policy's ack_timeout re-triggers the
// incident and the walk starts again.
//
// A step that fell due while nobody was running fires once, now, and the
// next step is timed from now: an outage never pages several steps at once.
// A snoozed incident triggers again the same way when its snooze ends.
//
// When its urgency rose and the catch-up is due (Escalation.RaiseDue),
// the walk then pages for it (catchUp).
//
// When users fails, Walk returns its error and inc is left half walked:
// the caller drops it and tries again later; unless the catch-up and the
// steps parted: a *CatchUpError (the catch-up failed: inc holds the
// steps, and the caller puts the catch-up off) or a *StepsError (the
// steps failed: inc holds the catch-up's pages, and the caller tries the
// steps again later).
func Walk(inc *klaxon.Incident, now time.Time, users Users, fallback []klaxon.Target) (bool, error) {
	// The catch-up first, then the steps, each holding up neither.
	esc := &inc.Escalation
	caught, missed := false, error(nil)
	if !esc.RaiseDue.IsZero() && !now.Before(esc.RaiseDue) {
		if inc.State == klaxon.StateTriggered && esc.Step >= 0 {
			missed = catchUp(inc, now, users, fallback)
		}
		if missed == nil {
			esc.RaiseDue, caught = time.Time{}, true
		}
	}
	changed, err := walk(inc, now, users, fallback)
	switch {
	case err != nil && caught:
		return true, &StepsError{err}
	case err != nil:
		return changed, err
	case missed != nil:
		return true, &CatchUpError{missed}
	}
	return changed || caught, nil
}

// CatchUpError is a lookup of the catch-up of a raised urgency that
// failed (see Walk): the incident holds the walk's steps, and the caller
// puts the catch-up off (Escalation.RaiseDue).
type CatchUpError struct{ Err error }

func (e *CatchUpError) Error() string { return "page for the raised urgency: " + e.Err.Error() }
func (e *CatchUpError) Unwrap() error { return e.Err }

// StepsError is a lookup of the walk's steps that failed after the
// catch-up of a raised urgency paged (see Walk): the incident holds the
// catch-up, and the caller tries the steps again later.
type StepsError struct{ Err error }

func (e *StepsError) Error() string { return e.Err.Error() }
func (e *StepsError) Unwrap() error { return e.Err }

func walk(inc *klaxon.Incident, now time.Time, users Users, fallback []klaxon.Target) (bool, error) {
	changed := false
	if inc.State == klaxon.StateAcknowledged {
		switch until := wakeAt(inc); {
		case until.IsZero() || now.Before(until):
		case !inc.SnoozedUntil.IsZero() && !now.Before(inc.SnoozedUntil):
			incident.Retrigger(inc, now, "snooze ended")
			changed = true
		default:
			incident.Retrigger(inc, now, "acknowledgement timed out after "+inc.Policy.AckTimeout.String())
			changed = true
		}
	}
	esc := &inc.Escalation
	if inc.State != klaxon.StateTriggered || esc.Done || len(inc.Policy.Steps) == 0 {
		return changed, nil
	}
	if esc.Step >= 0 && (esc.NextAt.IsZero() || now.Before(esc.NextAt)) {
		return changed, nil // the step waits; with no escalate_after, until someone acts
	}
	if esc.Step < 0 && now.Before(esc.NextAt) {
		return changed, nil // held by a maintenance window until NextAt
	}
	// A walk where a round's worth of steps in a row pages nobody ends:
	// the next would look up the same targets at the same instant, and
	// reach nobody again, however many rounds the policy repeats (and
	// the count needs no steps × (repeat + 1), which overflows).
	for nobody := 0; nobody < len(inc.Policy.Steps); nobody++ {
		next, round := esc.Step+1, esc.Round
		if next >= len(inc.Policy.Steps) {
			if round >= inc.Policy.Repeat {
				return true, exhaust(inc, now, users, fallback)
			}
			next, round = 0, round+1
		}
		paged, err := pageStep(inc, now, next, round, users, klaxon.Actor{})
		if err != nil {
			return changed, err
		}
		changed = true
		if paged > 0 {
			return true, nil
		}
	}
	return true, exhaust(inc, now, users, fallback)
}

// exhaust ends inc's walk: every step of every round has paged. When
// none of its pages went out since the walk began, it pages fallback.
func exhaust(inc *klaxon.Incident, now time.Time, users Users, fallback []klaxon.Target) error {
	esc := &inc.Escalation
	rounds := esc.Round + 1
	// A walk that ends with rounds of its policy left (see walk): a round
	// of steps reached nobody, and so would the next ones.
	early := esc.Round < inc.Policy.Repeat
	const nobodyRound = "a round of steps reached nobody, as its next rounds would at once: the walk ends"
	if reached(inc) {
		esc.Done, esc.NextAt = true, time.Time{}
		text := fmt.Sprintf("every step paged %d times; nobody acknowledged", rounds)
		if early {
			text = nobodyRound + "; nobody acknowledged"
		}
		inc.Record(klaxon.Event{At: now, Kind: klaxon.EventExhausted, Text: text})
		return nil
	}
	walkedText := fmt.Sprintf("every step walked %d times and nobody was paged", rounds)
	if early {
		walkedText = nobodyRound + ", nobody paged"
	}
	if len(fallback) == 0 {
		esc.Done, esc.NextAt = true, time.Time{}
		inc.Record(klaxon.Event{At: now, Kind: klaxon.EventExhausted, Text: walkedText + "; no fallback is set"})
		return nil
	}
	step := klaxon.Step{Targets: fallback}
	list, why, err := users(step)
	if err != nil {
		return err
	}
	esc.Done, esc.NextAt, esc.Fallback = true, time.Time{}, true
	inc.Record(klaxon.Event{At: now, Kind: klaxon.EventExhausted, Text: walkedText})
	walked(inc, list, FallbackStep, now)
	n := notify(inc, now, list, FallbackStep, esc.Round)
	text := "paging the fallback: " + targetsText(fallback)
	if n == 0 {
		text = "the fallback pages nobody: " + strings.Join(append(why, noRules(inc, list)...), "; ")
	}
	inc.Record(klaxon.Event{At: now, Kind: klaxon.EventFallback, Text: text})
	return nil
}

// catchUp pages, once the urgency of inc rose, the people its walk
// turned to so far (Incident.Walked: those its steps paged, or passed
// over for want of a rule, and the fallback's) by their rules for the
// new urgency, those that did not apply before, by a contact method the
// walk has not paged them by: what the walk would have paged by now had
// the incident been of that urgency from the start, and did not. They
// are the people the walk turned to when it did, not who is on call
// now. Each page is of the step that first turned to its person, due at
// now plus the rule's delay; the walk goes on from where it is. A walk
// begun before Walked was kept (WalkedAll false) looks up its steps
// walked so far too. A person the walk turned to who is no longer known
// (a reload) is said on the timeline (nobody_paged).
func catchUp(inc *klaxon.Incident, now time.Time, users Users, fallback []klaxon.Target) error {
	esc := &inc.Escalation
	people := inc.Walked
	if !inc.WalkedAll {
		// A walk begun before Walked was kept: its earlier steps are
		// looked up again.
		var err error
		if people, err = lookUpWalked(inc, slices.Clone(people), users, fallback); err != nil {
			return err
		}
	}
	var why []string
	// Only rules that name the urgency: the others applied before; and
	// not by a contact method that paged the person in this walk (a text
	// for low urgency and one for high, or a step walked at high urgency
	// while the catch-up waited).
	keep := func(u klaxon.User, r klaxon.NotifyRule) bool {
		return r.Urgency == inc.Urgency && !pagedBy(inc, u.ID, r.Via)
	}
	n := 0
	var who []string
	for _, step := range stepsOf(people) {
		var targets []klaxon.Target
		for _, w := range people {
			if w.Step == step {
				targets = append(targets, klaxon.Target{Kind: klaxon.TargetUser, Name: w.User})
			}
		}
		list, whyNot, err := users(klaxon.Step{Targets: targets})
		if err != nil {
			return err
		}
		why = append(why, whyNot...)
		for _, u := range list {
			// As the walk would have paged u, had the incident been of
			// this urgency when it turned to u: a rule's delay counts
			// from then, and one past goes now.
			from := now
			if i := slices.IndexFunc(people, func(w klaxon.Walked) bool { return w.User == u.ID }); i >= 0 && !people[i].At.IsZero() && people[i].At.Before(now) {
				from = people[i].At
			}
			if k := notifyIf(inc, now, from, []klaxon.User{u}, step, esc.Round, keep); k > 0 {
				n += k
				who = append(who, u.ID)
			}
		}
	}
	if n > 0 {
		inc.Record(klaxon.Event{At: now, Kind: klaxon.EventUrgencyRaised,
			Text: fmt.Sprintf("paging %s by the rules for %s urgency", strings.Join(who, ", "), inc.Urgency)})
	}
	if len(why) > 0 {
		step := esc.Step
		inc.Record(klaxon.Event{At: now, Kind: klaxon.EventNobodyPaged, Step: &step,
			Text: "not paged for the raised urgency: " + strings.Join(why, "; ")})
	}
	return nil
}

// walked notes in inc.Walked the users a step of its walk (or the
// fallback, FallbackStep) turned to at now, each once.
func walked(inc *klaxon.Incident, users []klaxon.User, step int, now time.Time) {
	inc.Walked = addWalked(inc.Walked, users, step, now)
}

// addWalked adds to people those of users it does not hold, of step,
// turned to at at.
func addWalked(people []klaxon.Walked, users []klaxon.User, step int, at time.Time) []klaxon.Walked {
	for _, u := range users {
		if !slices.ContainsFunc(people, func(w klaxon.Walked) bool { return w.User == u.ID }) {
			people = append(people, klaxon.Walked{User: u.ID, Step: step, At: at})
		}
	}
	return people
}

// stepsOf are the steps of people, in the order they first come.
func stepsOf(people []klaxon.Walked) []int {
	var out []int
	for _, w := range people {
		if !slices.Contains(out, w.Step) {
			out = append(out, w.Step)
		}
	}
	return out
}

// lookUpWalked adds to people whom inc's walk turned to, looked up
// again: the steps walked so far (every step, past the first round), and
// the fallback when the walk ended on it; for a walk begun before Walked
// was kept.
func lookUpWalked(inc *klaxon.Incident, people []klaxon.Walked, users Users, fallback []klaxon.Target) ([]klaxon.Walked, error) {
	esc := &inc.Escalation
	last := min(esc.Step, len(inc.Policy.Steps)-1)
	if esc.Round > 0 {
		last = len(inc.Policy.Steps) - 1
	}
	type walkedStep struct {
		i    int
		step klaxon.Step
	}
	var steps []walkedStep
	for i := 0; i <= last; i++ {
		steps = append(steps, walkedStep{i, inc.Policy.Steps[i]})
	}
	// A header written before Escalation.Fallback says it by its pages.
	if len(fallback) > 0 && (esc.Fallback || pagedFallback(inc)) {
		steps = append(steps, walkedStep{FallbackStep, klaxon.Step{Targets: fallback}})
	}
	for _, s := range steps {
		list, _, err := users(s.step)
		if err != nil {
			return nil, err
		}
		people = addWalked(people, list, s.i, time.Time{}) // when: not known
	}
	return people, nil
}

// pagedBy reports whether inc's walk sent user a page by via, or tried
// to: Sent keeps each person's latest page by each contact method. A
// page still in the outbox takes the catch-up's, as notify merges them:
// it goes no later than the rule for the new urgency says.
func pagedBy(inc *klaxon.Incident, user, via string) bool {
	return slices.ContainsFunc(inc.Sent, func(s klaxon.Sent) bool {
		return s.Notification > inc.WalkFrom && s.User == user && s.Via == via
	})
}

// FallbackStep is the step number of the fallback's notifications.
const FallbackStep = -1

// endWait ends the wait of a step without escalate_after once none of its
// walk's pages went out and nothing of it is left to send but pages that
// have failed for unreachedAfter: every page failed for good, or keeps
// failing (a provider down, a receiver that hangs) or being put off (its
// channel busy behind one that hangs), so the
// walk goes on, and pages the fallback when it ends having reached
// nobody. A page that keeps failing is still tried: should it go out
// after all, it reached someone, and nothing more is paged.
func endWait(inc *klaxon.Incident, now time.Time) {
	if at, ok := unreachedAt(inc); ok && !now.Before(at) {
		inc.Escalation.NextAt = now
	}
}

// unreachedAfter is how long the pages left of a walk that reached
// nobody fail, try after try, or are put off, before the walk counts as
// having reached nobody and a last step without escalate_after stops
// waiting for them (endWait): about six tries with the default backoff.
const unreachedAfter = 5 * time.Minute

// heldLimit is how long a walk that reached nobody waits for a page its
// channel holds back (Notification.HeldAt), time after time: a person's
// limit or a provider's pause holds a page for minutes, a person's calls
// in a storm one after another for longer; a channel that holds it
// without end (a relay that answers 421 to every try) must not keep the
// fallback waiting for ever. The page still goes should its channel take
// it; then it reached someone, and nothing more is paged.
const heldLimit = 30 * time.Minute

// unreachedAt is when endWait ends the wait of inc's step: the latest of
// its pending pages' waitEnds; zero (at once) when none is left. It is
// false when the step does not wait that way, or one of its pages has
// neither failed nor been put off (a later rule not due yet, a page
// about to go out).
func unreachedAt(inc *klaxon.Incident) (time.Time, bool) {
	esc := &inc.Escalation
	if inc.State != klaxon.StateTriggered || esc.Done || esc.Step < 0 || !esc.NextAt.IsZero() || esc.Reached {
		return time.Time{}, false
	}
	var at time.Time
	for _, n := range inc.Pending {
		end, ok := waitEnds(inc, n)
		if !ok {
			return time.Time{}, false
		}
		if end.After(at) {
			at = end
		}
	}
	return at, true
}

// waitEnds is when a walk that reached nobody stops waiting for pending
// notification n of inc: unreachedAfter after it began to fail (it was
// first put off, or first tried and failed, whichever came first), or
// heldLimit after its channel began to hold it back since its last
// failed try (Deferred): held, it is to go at the time its channel gave,
// and its failed tries before do not count. It is false when n has done
// neither, or is held in a header that does not say since when.
func waitEnds(inc *klaxon.Incident, n klaxon.Notification) (time.Time, bool) {
	if n.Deferred {
		return n.HeldAt.Add(heldLimit), !n.HeldAt.IsZero()
	}
	first, ok := firstTry(inc, n.ID)
	if !n.PutOffAt.IsZero() && (!ok || n.PutOffAt.Before(first)) {
		first, ok = n.PutOffAt, true
	}
	return first.Add(unreachedAfter), ok
}

// reached reports whether a page of inc went out since its walk began,
// at its opening or its last trigger.
func reached(inc *klaxon.Incident) bool { return inc.Escalation.Reached }

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

// pageStep pages step i of round: one pending notification per user and
// notification rule of the incident's urgency, due at now plus the rule's
// delay; the next step is due escalate_after from now. It returns how
// many notifications it made; when none, the timeline says why. When
// users fails, inc is unchanged.
func pageStep(inc *klaxon.Incident, now time.Time, i, round int, users Users, who klaxon.Actor) (int, error) {
	step := inc.Policy.Steps[i]
	list, why, err := users(step)
	if err != nil {
		return 0, err
	}
	// Whether this walk reached anyone carries over from step to step. A
	// step without escalate_after (the last of a policy that does not
	// repeat) waits until the incident is acknowledged or resolved.
	var next time.Time
	if step.EscalateAfter > 0 {
		next = now.Add(step.EscalateAfter)
	}
	inc.Escalation = klaxon.Escalation{Step: i, Round: round, NextAt: next, Reached: inc.Escalation.Reached, ReachedTrimmed: inc.Escalation.ReachedTrimmed,
		Fallback: inc.Escalation.Fallback, RaiseDue: inc.Escalation.RaiseDue}
	dropRetries(inc, now, fmt.Sprintf("step %d escalated", i+1))
	walked(inc, list, i, now)
	n := notify(inc, now, list, i, round)
	e := who.Event(now, klaxon.EventEscalated)
	e.Step, e.Text = &i, stepText(step, i, round)
	inc.Record(e)
	if n == 0 {
		why = append(why, noRules(inc, list)...)
		if len(why) == 0 {
			why = []string{"the step has no targets"}
		}
		inc.Record(klaxon.Event{At: now, Kind: klaxon.EventNobodyPaged, Step: &i, Text: "nobody paged: " + strings.Join(why, "; ")})
		inc.Escalation.NextAt = now
	}
	return n, nil
}

// notify adds a pending notification of inc per user and notification
// rule of inc's urgency, due at now plus the rule's delay, and returns
// how many. A person's page by a contact method that still waits in the
// outbox from earlier in this walk (a delay, or a per-person limit that
// holds it) stands for the new one: it becomes this step's, due no later
// than the new one would be. So the outbox holds one page a person and
// contact method, however fast the steps and rounds come: a policy that
// repeats faster than a limit lets calls out does not queue a call for
// every round, and the header stays small.
func notify(inc *klaxon.Incident, now time.Time, users []klaxon.User, step, round int) int {
	return notifyIf(inc, now, now, users, step, round, func(klaxon.User, klaxon.NotifyRule) bool { return true })
}

// notifyIf is notify by the rules of inc's urgency that keep says, each
// due its delay after from, and no sooner than now.
func notifyIf(inc *klaxon.Incident, now, from time.Time, users []klaxon.User, step, round int, keep func(klaxon.User, klaxon.NotifyRule) bool) int {
	n := 0
	for _, u := range users {
		for _, rule := range u.Notify {
			if !rule.Applies(inc.Urgency) || !keep(u, rule) {
				continue
			}
			n++
			due := from.Add(rule.After)
			if due.Before(now) {
				due = now
			}
			if i := slices.IndexFunc(inc.Pending, func(p klaxon.Notification) bool {
				return p.User == u.ID && p.Via == rule.Via && p.ID > inc.WalkFrom
			}); i >= 0 {
				p := &inc.Pending[i]
				if due.Before(p.Due) {
					p.Due = due
				}
				// This step's page: the step waits unreachedAfter
				// for it from when it is put off again.
				p.Step, p.Round, p.PutOffAt = step, round, time.Time{}
				continue
			}
			inc.Seq++
			inc.Pending = append(inc.Pending, klaxon.Notification{
				ID: inc.Seq, User: u.ID, Via: rule.Via, Due: due, Step: step, Round: round,
			})
		}
	}
	return n
}

// noRules says which of users have no notification rule for inc's urgency.
func noRules(inc *klaxon.Incident, users []klaxon.User) []string {
	var out []string
	for _, u := range users {
		if !slices.ContainsFunc(u.Notify, func(r klaxon.NotifyRule) bool { return r.Applies(inc.Urgency) }) {
			out = append(out, u.ID+" has no notification rule for this urgency")
		}
	}
	return out
}

func targetsText(ts []klaxon.Target) string {
	out := make([]string, len(ts))
	for j, t := range ts {
		out[j] = t.String()
	}
	return strings.Join(out, ", ")
}

func stepText(s klaxon.Step, i, round int) string {
	txt := fmt.Sprintf("step %d: %s", i+1, targetsText(s.Targets))
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
// notification, its next step (of a last step without escalate_after,
// when its pages that keep failing stop its wait: endWait), or the end
// of its ack timeout. Zero when it needs nothing more.
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
		earliest(inc.Escalation.RaiseDue) // its urgency rose: the engine pages for it
		switch {
		case inc.Escalation.Done || len(inc.Policy.Steps) == 0:
		case inc.Escalation.Step < 0 && inc.Escalation.NextAt.After(inc.CreatedAt):
			earliest(inc.Escalation.NextAt) // held by a maintenance window
		case inc.Escalation.Step < 0:
			earliest(inc.CreatedAt)
		default:
			earliest(inc.Escalation.NextAt)
			if at, ok := unreachedAt(inc); ok {
				earliest(at) // a last step stops waiting for pages that fail
			}
		}
	case klaxon.StateAcknowledged:
		earliest(wakeAt(inc))
	}
	return next
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
