package escalate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/telemetry"
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
		return klaxon.Conflict("cannot escalate: it is resolved")
	}
	if len(inc.Policy.Steps) == 0 {
		return klaxon.Conflict("cannot escalate: policy %s has no steps", inc.Policy.Name)
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
	// The pages of the step it leaves that have not come due (a later
	// rule) are dropped, and pageStep drops its retries, on the timeline.
	// A page that came due still goes out, put off or not: the page of an
	// escalation just before, which the engine has not sent yet or found
	// its channel busy, is one (two responders escalate within a moment:
	// the first one's step is paged too, as the timeline says).
	inc.Pending = slices.DeleteFunc(inc.Pending, func(n klaxon.Notification) bool { return n.Due.After(now) && !n.PutOff })
	_, err := pageStep(inc, now, next, round, users, who)
	return err
}

// Once makes act, a command on an incident, one that may change it once
// for who.Once (see klaxon.Actor): an incident that recorded who.Once
// refuses it with an error matching klaxon.ErrUsed, and an act that
// changes the incident records who.Once with the change, in the same
// commit. An act that fails, or changes nothing, leaves it unused. An
// act that answers a page (who.Page) sent before the incident triggered
// again is refused with an error matching klaxon.ErrOutdated, checked
// in the same commit, so that an old page's link never acts on the
// new walk.
func Once(who klaxon.Actor, act func(*klaxon.Incident, time.Time) (bool, error)) func(*klaxon.Incident, time.Time) (bool, error) {
	if who.Once == "" && who.Page == 0 {
		return act
	}
	return func(inc *klaxon.Incident, now time.Time) (bool, error) {
		if who.Page > 0 && who.Page <= inc.WalkFrom {
			return false, fmt.Errorf("incident %s: page %d was sent before it triggered again: %w", inc.ID, who.Page, klaxon.ErrOutdated)
		}
		if who.Once != "" && slices.Contains(inc.Once, who.Once) {
			return false, fmt.Errorf("incident %s: %s: %w", inc.ID, who.Once, klaxon.ErrUsed)
		}
		changed, err := act(inc, now)
		if err == nil && changed && who.Once != "" {
			inc.Once = keepRetries(append(inc.Once, who.Once))
		}
		return changed, err
	}
}

// keepRetries drops the oldest retry names (klaxon.OnceRetry) of once
// past klaxon.MaxRetries; the others stay.
func keepRetries(once []string) []string {
	retries := 0
	for _, o := range once {
		if strings.HasPrefix(o, klaxon.OnceRetry) {
			retries++
		}
	}
	if retries <= klaxon.MaxRetries {
		return once
	}
	drop := retries - klaxon.MaxRetries
	return slices.DeleteFunc(once, func(o string) bool {
		if drop > 0 && strings.HasPrefix(o, klaxon.OnceRetry) {
			drop--
			return true
		}
		return false
	})
}

// The commands act for who, once when who.Once says so (see Once).

// Acknowledge acknowledges incident id for who.
func (e *Engine) Acknowledge(ctx context.Context, id string, who klaxon.Actor) (*klaxon.Incident, error) {
	return e.command(ctx, "acknowledge", who, id, Once(who, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		return incident.Acknowledge(inc, now, who)
	}))
}

// Resolve resolves incident id by hand.
func (e *Engine) Resolve(ctx context.Context, id string, who klaxon.Actor) (*klaxon.Incident, error) {
	return e.command(ctx, "resolve", who, id, Once(who, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		return incident.Resolve(inc, now, who), nil
	}))
}

// Escalate pages the next step of incident id now.
func (e *Engine) Escalate(ctx context.Context, id string, who klaxon.Actor) (*klaxon.Incident, error) {
	inc, err := e.command(ctx, "escalate", who, id, Once(who, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		return true, escalate(inc, now, e.users(ctx, e.dir(), inc), who)
	}))
	if err == nil {
		e.Wake() // its pages are due now
	}
	return inc, err
}

// Act carries out a responder's action on incident id, whatever the
// channel it came by.
func (e *Engine) Act(ctx context.Context, a klaxon.Action, id string, who klaxon.Actor) (*klaxon.Incident, error) {
	switch a {
	case klaxon.ActionAck:
		return e.Acknowledge(ctx, id, who)
	case klaxon.ActionResolve:
		return e.Resolve(ctx, id, who)
	case klaxon.ActionEscalate:
		return e.Escalate(ctx, id, who)
	}
	return nil, klaxon.Invalid("action", "unknown %q", a)
}

// Snooze silences incident id for d, then it triggers again.
func (e *Engine) Snooze(ctx context.Context, id string, d time.Duration, who klaxon.Actor) (*klaxon.Incident, error) {
	return e.command(ctx, "snooze", who, id, Once(who, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		return true, incident.Snooze(inc, now, d, e.maxSnooze(), who)
	}))
}

// command applies fn to incident id and commits it with its timer, the
// users it newly pages (an escalation's) and, when it resolves the
// incident, the group's index.
//
// With tracing, the command is a span named for what (acknowledge,
// resolve, escalate, snooze, delivery) in the trace of the request that
// asked for it, linked to the trace that opened the incident.
func (e *Engine) command(ctx context.Context, what string, who klaxon.Actor, id string, fn func(*klaxon.Incident, time.Time) (bool, error)) (*klaxon.Incident, error) {
	return e.commandHolding(ctx, what, who, id, nil, func(inc *klaxon.Incident, _ map[string]klaxon.Seen, now time.Time) (bool, error) {
		return fn(inc, now)
	})
}

// commandHolding is command for fn that needs to know which of alerts
// the incident holds, as the group's read that the commit is checked
// against has them (held is empty when id is not the group's open
// incident).
func (e *Engine) commandHolding(ctx context.Context, what string, who klaxon.Actor, id string, alerts []string,
	fn func(inc *klaxon.Incident, held map[string]klaxon.Seen, now time.Time) (bool, error)) (_ *klaxon.Incident, err error) {
	stored, err := e.store.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	ctx, span := e.commandSpan(ctx, what, who, stored)
	defer func() { telemetry.End(span, err) }()
	out := stored
	// from is the state the commit that lands changed, "" when it
	// changed nothing: a command that finds the change made already
	// counts nothing.
	var from klaxon.State
	var landed *klaxon.Commit
	err = klaxon.Update(ctx, e.store, stored.Group, alerts, func(g klaxon.Group) (*klaxon.Commit, error) {
		from, landed = "", nil
		if g.Open == nil || g.Open.ID != id {
			// Closed: only its timeline may still grow, for the review.
			cur, err := e.store.Incident(ctx, id)
			if err != nil {
				return nil, err
			}
			out = incident.Clone(cur)
			changed, err := fn(out, nil, e.now())
			if err != nil || !changed {
				out = cur
				return nil, err
			}
			from = cur.State
			landed = &klaxon.Commit{Open: openID(g), Incidents: []*klaxon.Incident{out}, Urgent: true}
			return landed, nil
		}
		inc := incident.Clone(g.Open)
		changed, err := fn(inc, g.Alerts, e.now())
		out = inc
		if err != nil || !changed {
			return nil, err
		}
		from = g.Open.State
		// A resolved incident leaves the alert index: the store unindexes
		// its alerts.
		c := &klaxon.Commit{Open: inc.ID, Incidents: []*klaxon.Incident{inc}, Urgent: true}
		if inc.Seq != g.Open.Seq {
			// A new page numbers a notification: only a command that adds
			// one (escalate) can newly page anyone.
			c.Paged = NewlyPaged(g.Open, inc)
		}
		if inc.State == klaxon.StateResolved {
			c.Open = ""
		}
		c.Schedule(inc, NextDue(inc))
		landed = c
		return c, nil
	})
	e.handOn(landed, err)
	if err != nil {
		return nil, fmt.Errorf("incident %s: %w", id, err)
	}
	if from != "" && from != out.State {
		e.shared.Changed(ctx, out, e.now())
	}
	return out, nil
}

// commandSpan starts the span of command what on inc for who.
func (e *Engine) commandSpan(ctx context.Context, what string, who klaxon.Actor, inc *klaxon.Incident) (context.Context, trace.Span) {
	if e.tracer == nil {
		return ctx, trace.SpanFromContext(context.Background())
	}
	return e.tracer.Start(ctx, "escalate."+what, e.linked(ctx, inc, trace.WithAttributes(attribute.String("klaxon.incident", inc.ID),
		attribute.String("klaxon.by", who.By), attribute.String("klaxon.how", who.How)))...)
}
