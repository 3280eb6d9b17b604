package escalate

import (
	"context"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// Working an incident: notes, roles and merges. Each is a command on the
// incident, a commit of its group, as acknowledgements are.

// Note records a note by who on incident id; update marks it as a status
// update.
func (e *Engine) Note(ctx context.Context, id, text string, update bool, who klaxon.Actor) (*klaxon.Incident, error) {
	return e.command(ctx, "note", who, id, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		return true, incident.Note(inc, now, text, update, who)
	})
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
	return e.command(ctx, "assign", who, id, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		return incident.Assign(inc, now, role, user, who)
	})
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
	if to, err := e.store.Incident(ctx, dst); err != nil {
		return nil, err
	} else if to.State == klaxon.StateResolved {
		return nil, fmt.Errorf("merge into incident %s: it is resolved: %w", dst, klaxon.ErrConflict)
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
	once := "merged:" + src
	out, err := e.command(ctx, "merge", who, dst, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		if inc.State == klaxon.StateResolved {
			return false, fmt.Errorf("merge into incident %s: it is resolved: %w", dst, klaxon.ErrConflict)
		}
		for _, o := range inc.Once {
			if o == once {
				return false, nil // merged already: src may still need to resolve
			}
		}
		inc.Once = append(inc.Once, once)
		merged := who.Event(now, klaxon.EventMerged)
		merged.Text = fmt.Sprintf("#%s %s (%s)", src, from.Summary, klaxon.Plural(len(alerts), "alert"))
		inc.Record(merged)
		// Appended as they were, not recorded: the pages of src are not
		// pages of dst, whose account of its walk stays its own.
		for _, ev := range events {
			ev.Text = "#" + src + ": " + ev.Text
			ev.Notification = 0
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
