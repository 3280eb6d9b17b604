package escalate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// fire advances one incident whose timer is due and sends the pages that
// are due. It commits the pages it decides before sending them, and marks
// them sent after: a crash in between sends a page again once the lease
// ends, and never loses one. Its pages go out concurrently, each only
// while the claim is held.
func (e *Engine) fire(ctx context.Context, h *hold) error {
	t := h.timer
	var inc *klaxon.Incident
	err := klaxon.Update(ctx, e.store, t.Group, func(g klaxon.Group) (*klaxon.Commit, error) {
		inc = nil
		if g.Open == nil || g.Open.ID != t.Incident {
			// Closed since the timer was set: nothing left to do.
			return &klaxon.Commit{Open: openID(g), Cancel: []string{t.Incident}, Claim: t.Claim}, nil
		}
		cur := incident.Clone(g.Open)
		now := e.now()
		dir := e.dir()
		changed, err := Walk(cur, now, e.users(ctx, dir, cur), userTargets(dir.Fallback()))
		if err != nil {
			// Who to page is unknown: say so, and look again later.
			return e.lookupFailed(incident.Clone(g.Open), now, t, err), nil
		}
		inc = cur
		c := &klaxon.Commit{Open: inc.ID, Claim: t.Claim}
		if changed {
			c.Incidents = []*klaxon.Incident{inc}
		}
		if len(Due(inc, now)) > 0 {
			// Keep the claim until the pages are sent and marked.
			if !changed {
				return nil, nil
			}
			return c, nil
		}
		timerCommit(c, inc)
		return c, nil
	})
	if err != nil || inc == nil {
		return err
	}
	due := Due(inc, e.now())
	if len(due) == 0 {
		return nil
	}
	results := e.send(ctx, h, inc, due)
	// What went out is recorded even when sending outlasted the claim: a
	// page another engine repeats then shows twice on the timeline, as it
	// reached the person twice. A claim another holds now stays with it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	var events []klaxon.Event
	for _, r := range results {
		if r.event != nil {
			events = append(events, *r.event)
		}
	}
	return klaxon.Update(ctx, e.store, t.Group, func(g klaxon.Group) (*klaxon.Commit, error) {
		if g.Open == nil || g.Open.ID != inc.ID {
			// Resolved while the pages went out: record them on the
			// resolved incident for the review.
			if len(events) == 0 {
				return &klaxon.Commit{Open: openID(g), Cancel: []string{inc.ID}, Claim: t.Claim}, nil
			}
			done, err := e.store.Incident(ctx, inc.ID)
			if err != nil {
				return nil, err
			}
			done = incident.Clone(done)
			done.Timeline = append(done.Timeline, events...)
			return &klaxon.Commit{Open: openID(g), Incidents: []*klaxon.Incident{done}, Cancel: []string{inc.ID}, Claim: t.Claim}, nil
		}
		cur := incident.Clone(g.Open)
		now := e.now()
		cur.Pending = settle(cur.Pending, results)
		cur.Timeline = append(cur.Timeline, events...)
		for _, r := range results {
			if r.final {
				NextRuleNow(cur, r.n.User, now)
			}
		}
		dropOutrun(cur, now, results)
		c := &klaxon.Commit{Open: cur.ID, Incidents: []*klaxon.Incident{cur}, Claim: t.Claim}
		timerCommit(c, cur)
		return c, nil
	})
}

// lookupFailed records on inc that the targets of its next step could not
// be looked up, and sets its timer to try again after a backoff.
func (e *Engine) lookupFailed(inc *klaxon.Incident, now time.Time, t klaxon.Timer, err error) *klaxon.Commit {
	n := 1
	for i := len(inc.Timeline) - 1; i >= 0 && inc.Timeline[i].Kind != klaxon.EventEscalated; i-- {
		if inc.Timeline[i].Kind == klaxon.EventLookupFailed {
			n++
		}
	}
	again := now.Add(e.retry.after(n))
	e.log.Error("look up who to page", "incident", inc.ID, "err", err)
	inc.Record(klaxon.Event{At: now, Kind: klaxon.EventLookupFailed,
		Text: fmt.Sprintf("could not look up who to page: %v; looking again at %s", err, again.UTC().Format(time.RFC3339))})
	return &klaxon.Commit{Open: inc.ID, Incidents: []*klaxon.Incident{inc}, Claim: t.Claim,
		Timers: []klaxon.Timer{{Incident: inc.ID, Group: inc.Group, Due: again}}}
}

// result is what became of one due notification.
type result struct {
	n klaxon.Notification
	// event records the try on the timeline; nil when the page did not go
	// out and stays due as it was (the claim was lost) or until keep.
	event *klaxon.Event
	// keep is when the notification is due again (deferred by a channel,
	// or to be tried again); zero when it is done with.
	keep time.Time
	// stay leaves the notification pending, due as it was.
	stay bool
	// final is a failure that trying again cannot mend.
	final bool
}

// send delivers the due notifications of inc concurrently, each once,
// and returns what became of each, in order.
func (e *Engine) send(ctx context.Context, h *hold, inc *klaxon.Incident, due []klaxon.Notification) []result {
	dir := e.dir()
	// A page that has begun finishes or outlasts the page timeout; one
	// that waits for its channel gives up when the claim is lost.
	ctx, cancel := context.WithTimeout(ctx, e.pageTimeout)
	defer cancel()
	results := make([]result, len(due))
	var wg sync.WaitGroup
	for i, n := range due {
		wg.Go(func() { results[i] = e.page(ctx, h, dir, inc, n) })
	}
	wg.Wait()
	if !paged(inc, nil) {
		var first time.Time
		for _, r := range results {
			if r.event != nil && r.event.Kind == klaxon.EventPageSent && (first.IsZero() || r.event.At.Before(first)) {
				first = r.event.At
			}
		}
		if !first.IsZero() {
			e.metrics.firstPage.Observe(first.Sub(inc.CreatedAt).Seconds())
		}
	}
	return results
}

// page sends one notification, if the claim is still held.
func (e *Engine) page(ctx context.Context, h *hold, dir Directory, inc *klaxon.Incident, n klaxon.Notification) result {
	step := n.Step
	ev := klaxon.Event{Kind: klaxon.EventPageSent, Step: &step, Notification: n.ID, User: n.User, Via: n.Via}
	u, ok := dir.User(n.User)
	if !ok {
		ev.At, ev.Kind, ev.Text = e.now(), klaxon.EventPageFailed, "unknown user "+n.User
		return result{n: n, event: &ev, final: true}
	}
	wait, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(h.ctx, cancel) // the claim is lost
	defer stop()
	free, err := e.slot(wait, n.Via)
	if err == nil {
		defer free()
		if !h.held(e.now(), e.margin()) {
			err = errNotHeld
		}
	}
	if err == nil {
		p := klaxon.Page{Incident: inc.ID, Notification: n.ID, User: u, Via: n.Via, Summary: inc.Summary,
			Severity: inc.Severity, Alerts: inc.Firing(), Text: PageText(inc)}
		err = e.notifier.Notify(ctx, p)
	} else if h.ctx.Err() != nil || errors.Is(err, errNotHeld) {
		return result{n: n, stay: true} // the claim's next holder sends it
	}
	ev.At = e.now()
	var later *klaxon.DeferredError
	switch {
	case err == nil:
		e.metrics.pages.WithLabelValues(n.Via, "sent").Inc()
		return result{n: n, event: &ev}
	case errors.As(err, &later):
		e.metrics.pages.WithLabelValues(n.Via, "deferred").Inc()
		return result{n: n, keep: later.Until}
	case errors.Is(err, klaxon.ErrBundled):
		e.metrics.pages.WithLabelValues(n.Via, "bundled").Inc()
		ev.Text = "in a bundle with other incidents"
		return result{n: n, event: &ev}
	}
	ev.Kind = klaxon.EventPageFailed
	if !retryable(err) {
		e.metrics.pages.WithLabelValues(n.Via, "failed").Inc()
		e.log.Warn("page", "incident", inc.ID, "user", n.User, "channel", n.Via, "err", err)
		ev.Text = err.Error()
		return result{n: n, event: &ev, final: true}
	}
	e.metrics.pages.WithLabelValues(n.Via, "retried").Inc()
	try := tries(inc, n.ID) + 1
	again := ev.At.Add(e.retry.after(try))
	e.log.Warn("page, to be tried again", "incident", inc.ID, "user", n.User, "channel", n.Via, "try", try, "err", err)
	ev.How = howRetry
	ev.Text = fmt.Sprintf("try %d failed: %v; trying again at %s", try, err, again.UTC().Format(time.RFC3339))
	return result{n: n, event: &ev, keep: again}
}

// errNotHeld is a page not sent because its claim was about to lapse.
var errNotHeld = errors.New("claim no longer held")

// retryable reports whether a page that failed with err may go out if
// tried again: the channel says so, or the try timed out.
func retryable(err error) bool {
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// settle updates pending with what became of the notifications sent:
// those done with go, the others stay, due when results say. A
// notification no longer pending (the incident was acknowledged
// meanwhile) stays gone.
func settle(pending []klaxon.Notification, results []result) []klaxon.Notification {
	byID := make(map[int]result, len(results))
	for _, r := range results {
		byID[r.n.ID] = r
	}
	out := pending[:0]
	for _, p := range pending {
		r, ok := byID[p.ID]
		switch {
		case !ok, r.stay:
		case !r.keep.IsZero():
			p.Due = r.keep
		default:
			continue
		}
		out = append(out, p)
	}
	return out
}

// paged reports whether inc already sent a page, before or among events.
func paged(inc *klaxon.Incident, events []klaxon.Event) bool {
	for _, list := range [][]klaxon.Event{inc.Timeline, events} {
		for _, ev := range list {
			if ev.Kind == klaxon.EventPageSent {
				return true
			}
		}
	}
	return false
}

// users resolves a step's targets to users with dir, each once, in target
// order, saying why a target reaches nobody. A lookup that fails other
// than for a missing schedule is an error: the step is tried again.
func (e *Engine) users(ctx context.Context, dir Directory, inc *klaxon.Incident) Users {
	return func(s klaxon.Step) ([]klaxon.User, []string, error) {
		seen := map[string]bool{}
		var out []klaxon.User
		var why []string
		add := func(id string) {
			if seen[id] {
				return
			}
			seen[id] = true
			u, ok := dir.User(id)
			if !ok {
				e.log.Warn("page unknown user", "incident", inc.ID, "user", id)
				why = append(why, "unknown user "+id)
				return
			}
			out = append(out, u)
		}
		for _, t := range s.Targets {
			switch t.Kind {
			case klaxon.TargetUser:
				add(t.Name)
			case klaxon.TargetSchedule:
				ids, err := dir.OnCall(ctx, t.Name, e.now())
				switch {
				case errors.Is(err, klaxon.ErrNotFound):
					why = append(why, "no schedule "+t.Name)
				case err != nil:
					return nil, nil, fmt.Errorf("who is on call in %s: %w", t.Name, err)
				case len(ids) == 0:
					why = append(why, "nobody on call in "+t.Name)
				}
				for _, id := range ids {
					add(id)
				}
			}
		}
		return out, why, nil
	}
}

// userTargets makes targets of user IDs.
func userTargets(ids []string) []klaxon.Target {
	out := make([]klaxon.Target, len(ids))
	for i, id := range ids {
		out[i] = klaxon.Target{Kind: klaxon.TargetUser, Name: id}
	}
	return out
}
