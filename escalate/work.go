package escalate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
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

// mergePage is how many alerts, or events, a merge reads and commits at
// a time: an incident of a storm, 100,000 alerts, merges in commits of a
// thousand, each short, the escalation engine's other commits going
// between them.
const mergePage = 1000

// takeBackMerge takes back src's mark of a merge into dst that gave
// way, unless a merge of src into dst (another call's: a merge asked
// again) landed, or is under way as dst records. A merge that lands
// after the take-back marks src again as it resolves it.
func (e *Engine) takeBackMerge(ctx context.Context, src, dst string, who klaxon.Actor) error {
	_, err := e.command(ctx, "merge", who, src, func(inc *klaxon.Incident, _ time.Time) (bool, error) {
		if inc.State == klaxon.StateResolved {
			return false, nil
		}
		to, err := e.store.Incident(ctx, dst)
		if err != nil {
			return false, err
		}
		if slices.Contains(to.Once, mergedKey(src)) || findMergeAt(to, src) != nil {
			return false, nil
		}
		n := len(inc.Once)
		inc.Once = slices.DeleteFunc(inc.Once, func(o string) bool { return o == klaxon.MergingInto+dst })
		return len(inc.Once) != n, nil
	})
	return err
}

// Merge moves incident src into dst, for who: dst gains src's alerts and,
// after a merged event, a copy of src's timeline; src resolves, saying
// where it went. The alerts keep their groups: a later report of one of
// them goes to its own group, which opens a new incident, as after any
// resolve. A merge that stopped halfway is finished by asking again: dst
// records the merge once, and src resolves once.
//
// dst takes src a page at a time. Its Once holds where the merge is
// (mergeAt) from the commit that records the merge to the one that
// copies the last event, which replaces it with "merged:" + src. src
// stays open meanwhile, and its new alerts may sort behind the page the
// merge is at: when src counts more alerts as it resolves than when the
// pages began, or the pages began in an earlier call, mergeRest reads
// src, resolved and so closed to alerts, once more.
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
	if slices.Contains(to.Once, mergedKey(src)) && from.MergedInto() == dst && from.State == klaxon.StateResolved {
		// Merged already: a merge sent again (its answer lost) finds it
		// done, also once dst resolved since.
		return to, nil
	}
	if to.State == klaxon.StateResolved {
		return nil, klaxon.Conflict("cannot merge into incident %s: it is resolved", dst)
	}
	if err := e.mergedElsewhere(ctx, src, dst); err != nil {
		return nil, err
	}
	// src says first where it goes: a merge stopped halfway, which dst
	// holds part of, is finished into dst or not at all.
	if _, err := e.command(ctx, "merge", who, src, func(inc *klaxon.Incident, _ time.Time) (bool, error) {
		switch other := inc.MergedInto(); other {
		case dst:
			return false, nil
		case "":
			inc.Once = append(inc.Once, klaxon.MergingInto+dst)
			return true, nil
		default:
			return false, klaxon.Conflict("cannot merge incident %s: its merge into %s is under way; merge it into %s again to finish it", src, other, other)
		}
	}); err != nil {
		return nil, err
	}
	// The first commit records the merge; one asked again finds where it is.
	crossed := false
	out, err := e.command(ctx, "merge", who, dst, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		crossed = false // a call on a cached read that refused is not the last
		if inc.State == klaxon.StateResolved {
			return false, klaxon.Conflict("cannot merge into incident %s: it is resolved", dst)
		}
		if slices.Contains(inc.Once, mergedKey(src)) || findMergeAt(inc, src) != nil {
			return false, nil // merged, or under way: it is finished
		}
		if inc.MergedInto() == src {
			// Two responders merge each into the other's: the one whose
			// target is on its way into its own incident gives way, so
			// that they never resolve both, each into the other.
			crossed = true
			return false, klaxon.Conflict("cannot merge incident %s into %s: %s is being merged into %s", src, dst, dst, src)
		}
		merged := who.Event(now, klaxon.EventMerged)
		merged.Text = fmt.Sprintf("#%s %s (%s)", src, from.Summary, klaxon.Plural(from.AlertCount, "alert"))
		inc.Record(merged)
		inc.Once = append(inc.Once, mergeAt{src: src}.String())
		return true, nil
	})
	if crossed && err != nil {
		// src said it goes into dst: take that back, or it could never
		// be merged elsewhere, nor take dst in; unless another call's
		// merge of src into dst landed meanwhile (a merge asked again),
		// whose mark it is too.
		if uerr := e.takeBackMerge(ctx, src, dst, who); uerr != nil {
			return nil, fmt.Errorf("%w; and take back its mark: %w", err, uerr)
		}
	}
	if err != nil {
		return nil, err
	}
	// scanned is src's AlertCount before this call read its alerts from
	// the first: an alert that joined src meanwhile counts above it, and
	// the pages may have passed it. -1: this call did not read them all.
	scanned := -1
	if at := findMergeAt(out, src); at != nil && !at.events && at.cursor == "" {
		scanned = from.AlertCount
	}
	// A copy in dst of an alert that fires is one of dst's own when both
	// are of one group: its later reports come to dst (the group's open
	// incident) and resolve it there. Of another group, it stays a record.
	live := from.Group == to.Group
	for at := findMergeAt(out, src); at != nil; at = findMergeAt(out, src) {
		if out, err = e.mergePage(ctx, *at, dst, live, who); err != nil {
			return nil, err
		}
	}
	final := -1
	if _, err := e.command(ctx, "merge", who, src, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		final = inc.AlertCount
		if inc.State == klaxon.StateResolved {
			return false, nil
		}
		if inc.MergedInto() == "" {
			// Taken back by a merge into dst that gave way as this one
			// went on: src says where it went, for its alerts sent again.
			inc.Once = append(inc.Once, klaxon.MergingInto+dst)
		}
		incident.Resolve(inc, now, who)
		into := who.Event(now, klaxon.EventMergedInto)
		into.Text = "#" + dst
		inc.Record(into)
		return true, nil
	}); err != nil {
		return nil, fmt.Errorf("resolve merged incident %s: %w", src, err)
	}
	if final != scanned {
		// Resolved, src gains no more alerts: a last read of them finds
		// those the pages passed.
		if out, err = e.mergeRest(ctx, src, dst, live, who, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// mergeRest moves into dst the alerts of src, resolved, that dst does not
// hold: those that joined src while a merge read its alerts, after the
// page that would have had them. If dst resolved meanwhile, which takes
// no alerts, it says so, with what it left on src.
func (e *Engine) mergeRest(ctx context.Context, src, dst string, live bool, who klaxon.Actor, out *klaxon.Incident) (*klaxon.Incident, error) {
	for cursor := ""; ; {
		page, next, err := e.store.IncidentAlerts(ctx, src, cursor, mergePage)
		if err != nil {
			return nil, fmt.Errorf("merge incident %s: %w", src, err)
		}
		out, err = e.commandHolding(ctx, "merge", who, dst, alertKeys(page), func(inc *klaxon.Incident, held map[string]klaxon.Seen, _ time.Time) (bool, error) {
			if inc.State == klaxon.StateResolved {
				return false, klaxon.Conflict("incident %s resolved while %s merged into it: alerts that joined %s meanwhile may be left there", dst, src, src)
			}
			return addUnheld(inc, page, held, live), nil
		})
		if err != nil {
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// mergedElsewhere refuses to merge src if its timeline says that it was
// merged into another incident than dst.
func (e *Engine) mergedElsewhere(ctx context.Context, src, dst string) error {
	for n := 0; ; {
		page, total, err := e.store.Timeline(ctx, src, n, mergePage)
		if err != nil {
			return fmt.Errorf("merge incident %s: %w", src, err)
		}
		for _, ev := range page {
			if ev.Kind == klaxon.EventMergedInto && ev.Text != "#"+dst {
				return klaxon.Conflict("cannot merge incident %s: it was merged into %s already", src, strings.TrimPrefix(ev.Text, "#"))
			}
		}
		n += len(page)
		if len(page) == 0 || n >= total {
			return nil
		}
	}
}

// mergePage moves the next page of the merge at into dst, in
// one commit, and returns dst as it left it.
func (e *Engine) mergePage(ctx context.Context, at mergeAt, dst string, live bool, who klaxon.Actor) (*klaxon.Incident, error) {
	next := at
	var alerts []klaxon.AlertState
	var events []klaxon.Event
	if !at.events {
		page, cursor, err := e.store.IncidentAlerts(ctx, at.src, at.cursor, mergePage)
		if err != nil {
			return nil, fmt.Errorf("merge incident %s: %w", at.src, err)
		}
		alerts = page
		next.cursor, next.events = cursor, cursor == ""
	} else {
		page, total, err := e.store.Timeline(ctx, at.src, at.copied, mergePage)
		if err != nil {
			return nil, fmt.Errorf("merge incident %s: %w", at.src, err)
		}
		events = page
		next.copied += len(page)
		next.done = len(page) == 0 || next.copied >= total
	}
	return e.commandHolding(ctx, "merge", who, dst, alertKeys(alerts), func(inc *klaxon.Incident, held map[string]klaxon.Seen, _ time.Time) (bool, error) {
		if inc.State == klaxon.StateResolved {
			return false, klaxon.Conflict("cannot merge into incident %s: it is resolved", dst)
		}
		i := slices.Index(inc.Once, at.String())
		switch {
		case i >= 0:
		case findMergeAt(inc, at.src) != nil || slices.Contains(inc.Once, mergedKey(at.src)):
			// The same merge sent again moved this page meanwhile (or
			// finished): this one goes on from where it stands.
			return false, nil
		default:
			return false, klaxon.Conflict("cannot merge incident %s into %s: another merge of it is under way", at.src, dst)
		}
		if next.done {
			inc.Once[i] = mergedKey(at.src)
		} else {
			inc.Once[i] = next.String()
		}
		// Appended as they were, not recorded: the pages of src are not
		// pages of dst, whose account of its walk stays its own.
		for _, ev := range events {
			ev.Text = "#" + at.src + ": " + ev.Text
			ev.Notification, ev.From = 0, at.src
			inc.Recorded = append(inc.Recorded, ev)
		}
		addUnheld(inc, alerts, held, live)
		return true, nil
	})
}

// addUnheld adds to inc those of alerts that held, what inc holds of
// them as the read its commit is checked against has it, does not have,
// and reports whether it added any. An alert inc holds already keeps its
// own record there: so does one an earlier page gave, should the store
// give it twice. With live, those that fire count among inc's firing
// alerts, which their resolves then take back.
func addUnheld(inc *klaxon.Incident, alerts []klaxon.AlertState, held map[string]klaxon.Seen, live bool) bool {
	added := false
	for _, a := range alerts {
		if _, ok := held[a.Key]; !ok {
			inc.Changed = append(inc.Changed, a)
			inc.AlertCount++
			if live && a.Status == klaxon.Firing {
				inc.FiringCount++
			}
			added = true
		}
	}
	return added
}

// alertKeys returns the keys of alerts.
func alertKeys(alerts []klaxon.AlertState) []string {
	keys := make([]string, len(alerts))
	for i, a := range alerts {
		keys[i] = a.Key
	}
	return keys
}

// mergedKey is the Once of dst once src merged into it.
func mergedKey(src string) string { return "merged:" + src }

// mergeAt is where a merge of src is, kept in the Once of the incident it
// merges into until it is done: the cursor of src's next page of alerts,
// then, once they are all moved (events), how many of its events were
// copied.
type mergeAt struct {
	src    string
	cursor string
	events bool
	copied int
	done   bool // not kept: the page that ends the merge
}

const mergeAtPrefix = "merging:"

func (m mergeAt) String() string {
	if m.events {
		return mergeAtPrefix + m.src + " events " + strconv.Itoa(m.copied)
	}
	return mergeAtPrefix + m.src + " alerts " + m.cursor
}

// findMergeAt returns where the merge of src into inc is; nil if none is
// under way.
func findMergeAt(inc *klaxon.Incident, src string) *mergeAt {
	for _, o := range inc.Once {
		rest, ok := strings.CutPrefix(o, mergeAtPrefix+src+" ")
		if !ok {
			continue
		}
		if cursor, ok := strings.CutPrefix(rest, "alerts "); ok {
			return &mergeAt{src: src, cursor: cursor}
		}
		if n, ok := strings.CutPrefix(rest, "events "); ok {
			if copied, err := strconv.Atoi(n); err == nil {
				return &mergeAt{src: src, events: true, copied: copied}
			}
		}
	}
	return nil
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

// Held reports whether maintenance windows hold every firing alert of
// incident inc at now: the first of them to free its alert, and when.
type Held func(ctx context.Context, inc *klaxon.Incident, now time.Time) (window string, until time.Time, ok bool, err error)

// isHeld reports whether inc's first page is held by a maintenance window
// (Incident.Escalation.HeldBy), or was until its hold ended.
func isHeld(inc *klaxon.Incident) bool {
	return inc.State == klaxon.StateTriggered && inc.Escalation.Step < 0 && inc.Escalation.HeldBy != ""
}

// heldOn reports whether the hold of inc's first page ended at now while
// windows hold every firing alert of inc still (Options.Held), and if
// so holds it on to when the first of them frees its alert. A question
// that fails is logged, and the page goes.
func (e *Engine) heldOn(ctx context.Context, inc *klaxon.Incident, now time.Time) bool {
	if e.held == nil || !isHeld(inc) || now.Before(inc.Escalation.NextAt) {
		return false
	}
	window, until, ok, err := e.held(ctx, inc, now)
	if err != nil {
		e.log.Warn("ask the maintenance windows again: the held page goes", "incident", inc.ID, "err", err)
		return false
	}
	until = heldUntil(inc, until)
	if !ok || !until.After(now) {
		return false
	}
	holdOn(inc, now, inc.Escalation.HeldBy+" ended", window, until)
	return true
}

// maxHeld bounds how long maintenance windows hold an incident's first
// page in all, from its opening, as route.Silence bounds the openings it
// chains: a window open all day every day holds a page for a month,
// then it goes, though asked again the windows would hold it on.
const maxHeld = 31 * 24 * time.Hour

// heldUntil is until, a hold's end that windows asked again gave, or the
// end of maxHeld from inc's opening if that comes first.
func heldUntil(inc *klaxon.Incident, until time.Time) time.Time {
	if limit := inc.CreatedAt.Add(maxHeld); until.After(limit) {
		return limit
	}
	return until
}

// holdOn records on inc that window holds its first page until until,
// now that why.
func holdOn(inc *klaxon.Incident, now time.Time, why, window string, until time.Time) {
	inc.Escalation.NextAt, inc.Escalation.HeldBy = until, window
	inc.Record(klaxon.Event{At: now, Kind: klaxon.EventAlertSilenced,
		Text: "maintenance " + why + "; " + window + " holds the first page until " + until.UTC().Format(time.RFC3339)})
}

// Release sends now the held first page of every open incident that
// maintenance window held, as the window ended early. It asks held
// again of every incident a window holds: one whose firing alerts other
// windows all hold still stays held, until the first of them frees its
// alert; one that has an alert the ended window alone held pages now. It returns how many pages it released;
// an incident it could not ask of or release does not stop the others,
// and its error is returned, for the release to run again.
func (e *Engine) Release(ctx context.Context, window string, held Held) (int, error) {
	open, err := e.store.Incidents(ctx, klaxon.IncidentFilter{States: []klaxon.State{klaxon.StateTriggered}})
	if err != nil {
		return 0, fmt.Errorf("release the incidents of window %s: %w", window, err)
	}
	released := 0
	var errs []error // of incidents left held, to be released again
	for _, inc := range open {
		if !isHeld(inc) {
			continue
		}
		other, until, ok, err := held(ctx, inc, e.now())
		if err != nil {
			errs = append(errs, fmt.Errorf("release incident %s: %w", inc.ID, err))
			continue
		}
		if !ok || other == window {
			until = time.Time{}
		} else {
			until = heldUntil(inc, until)
		}
		freed := false
		_, err = e.command(ctx, "release", klaxon.Actor{}, inc.ID, func(inc *klaxon.Incident, now time.Time) (bool, error) {
			freed = false
			switch {
			case !isHeld(inc):
				return false, nil
			case until.After(now) && inc.Escalation.HeldBy == other && inc.Escalation.NextAt.Equal(until):
				return false, nil // held as before
			case until.After(now):
				holdOn(inc, now, window+" ended early", other, until)
				return true, nil
			}
			inc.Escalation.NextAt, inc.Escalation.HeldBy = time.Time{}, ""
			inc.Record(klaxon.Event{At: now, Kind: klaxon.EventEscalated, Text: "maintenance " + window + " ended early: the held page goes now"})
			freed = true
			return true, nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("release incident %s: %w", inc.ID, err))
			continue
		}
		if freed {
			released++
		}
	}
	if released > 0 {
		e.Wake()
	}
	return released, errors.Join(errs...)
}
