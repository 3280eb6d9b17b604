package escalate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// Working an incident: notes, roles and merges. Each is a command on the
// incident, a commit of its group, as acknowledgements are.

// Note records a note by who on incident id; update marks it as a status
// update.
func (e *Engine) Note(ctx context.Context, id, text string, update bool, who klaxon.Actor) (*klaxon.Incident, error) {
	return e.command(ctx, "note", who, id, Once(who, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		return true, incident.Note(inc, now, text, update, who)
	}))
}

// Assign gives user role (incident.RoleAssignee, RoleCommander) on
// incident id, for who; user must be one of the config's users, or ""
// to take the role away.
func (e *Engine) Assign(ctx context.Context, id, role, user string, who klaxon.Actor) (*klaxon.Incident, error) {
	if user != "" && e.dir != nil {
		if _, ok := e.dir().User(user); !ok {
			return nil, klaxon.Invalid("user", "no user %q", user)
		}
	}
	return e.command(ctx, "assign", who, id, Once(who, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		return incident.Assign(inc, now, role, user, who)
	}))
}

// mergePage is how many alerts and events a merge reads at a time.
const mergePage = 1000

// Merge moves incident src into dst, for who: dst gains src's alerts and,
// after a merged event, a copy of src's timeline; src resolves, saying
// where it went. The alerts keep their groups: a later report of one of
// them goes to its own group, which opens a new incident, as after any
// resolve. A merge that stopped halfway is finished by asking again: dst
// records the merge once, and src resolves once.
func (e *Engine) Merge(ctx context.Context, src, dst string, who klaxon.Actor) (*klaxon.Incident, error) {
	if src == dst {
		return nil, klaxon.Invalid("into", "an incident cannot be merged into itself")
	}
	from, err := e.store.Incident(ctx, src)
	if err != nil {
		return nil, err
	}
	to, err := e.store.Incident(ctx, dst)
	if err != nil {
		return nil, err
	}
	if to.State == klaxon.StateResolved {
		return nil, klaxon.Conflict("cannot merge into incident %s: it is resolved", dst)
	}
	var alerts []klaxon.AlertState
	for cursor := ""; ; {
		page, next, err := e.store.IncidentAlerts(ctx, src, cursor, mergePage)
		if err != nil {
			return nil, fmt.Errorf("merge incident %s: %w", src, err)
		}
		alerts = append(alerts, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	events, err := klaxon.ReadTimeline(ctx, e.store, src)
	if err != nil {
		return nil, fmt.Errorf("merge incident %s: %w", src, err)
	}
	for _, ev := range events {
		if ev.Kind == klaxon.EventMergedInto && ev.Text != "#"+dst {
			return nil, klaxon.Conflict("cannot merge incident %s: it was merged into %s already", src, strings.TrimPrefix(ev.Text, "#"))
		}
	}
	// An alert the target holds already keeps its own record there.
	keys := make([]string, len(alerts))
	for i, a := range alerts {
		keys[i] = a.Key
	}
	g, err := e.store.Group(ctx, to.Group, keys)
	if err != nil {
		return nil, fmt.Errorf("merge into incident %s: %w", dst, err)
	}
	if g.Open != nil && g.Open.ID == dst {
		alerts = slices.DeleteFunc(alerts, func(a klaxon.AlertState) bool { _, held := g.Alerts[a.Key]; return held })
	}
	once := "merged:" + src
	out, err := e.command(ctx, "merge", who, dst, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		if inc.State == klaxon.StateResolved {
			return false, klaxon.Conflict("cannot merge into incident %s: it is resolved", dst)
		}
		if slices.Contains(inc.Once, once) {
			return false, nil // merged already: src may still need to resolve
		}
		inc.Once = append(inc.Once, once)
		merged := who.Event(now, klaxon.EventMerged)
		merged.Text = fmt.Sprintf("#%s %s (%s)", src, from.Summary, klaxon.Plural(len(alerts), "alert"))
		inc.Record(merged)
		// Appended as they were, not recorded: the pages of src are not
		// pages of dst, whose account of its walk stays its own.
		for _, ev := range events {
			ev.Text = "#" + src + ": " + ev.Text
			ev.Notification, ev.From = 0, src
			inc.Recorded = append(inc.Recorded, ev)
		}
		inc.Changed = append(inc.Changed, alerts...)
		inc.AlertCount += len(alerts)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := e.command(ctx, "merge", who, src, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		if inc.State == klaxon.StateResolved {
			return false, nil
		}
		incident.Resolve(inc, now, who)
		into := who.Event(now, klaxon.EventMergedInto)
		into.Text = "#" + dst
		inc.Record(into)
		return true, nil
	}); err != nil {
		return nil, fmt.Errorf("resolve merged incident %s: %w", src, err)
	}
	return out, nil
}

// SetChat records where incident id's chat message is, once: a second
// message posted for it (another replica's) is not recorded.
func (e *Engine) SetChat(ctx context.Context, id string, chat klaxon.Chat) (*klaxon.Incident, error) {
	return e.command(ctx, "chat", klaxon.Actor{}, id, func(inc *klaxon.Incident, _ time.Time) (bool, error) {
		if inc.Chat != nil {
			return false, nil
		}
		inc.Chat = &chat
		return true, nil
	})
}

// Release sends now the held first page of every open incident that
// maintenance window holds: the window ended early. It returns how many
// it released.
func (e *Engine) Release(ctx context.Context, window string) (int, error) {
	open, err := e.store.Incidents(ctx, klaxon.IncidentFilter{States: []klaxon.State{klaxon.StateTriggered}})
	if err != nil {
		return 0, fmt.Errorf("release the incidents of window %s: %w", window, err)
	}
	released := 0
	for _, inc := range open {
		if inc.Escalation.HeldBy != window {
			continue
		}
		_, err := e.command(ctx, "release", klaxon.Actor{}, inc.ID, func(inc *klaxon.Incident, now time.Time) (bool, error) {
			if inc.Escalation.HeldBy != window || inc.Escalation.Step >= 0 {
				return false, nil
			}
			inc.Escalation.NextAt, inc.Escalation.HeldBy = time.Time{}, ""
			inc.Record(klaxon.Event{At: now, Kind: klaxon.EventEscalated, Text: "maintenance " + window + " ended early: the held page goes now"})
			return true, nil
		})
		if err != nil {
			return released, fmt.Errorf("release incident %s: %w", inc.ID, err)
		}
		released++
	}
	if released > 0 {
		e.Wake()
	}
	return released, nil
}
