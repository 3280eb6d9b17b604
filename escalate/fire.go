package escalate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/telemetry"
)

// fire advances one incident whose timer is due and sends the pages that
// are due, until none is in flight and none is due. It commits the pages
// it decides before sending them, and records each after it went out: a
// crash in between sends a page again once the lease ends, and never
// loses one. Its pages go out concurrently, each only while the claim is
// held. While pages are in flight it keeps walking the incident, so a
// page that takes long delays neither the next step nor a rule that a
// delivery report made due now: it reads the incident again as each page
// ends, when the next page or step is due, and every half margin.
//
// Once the claim is no longer held, or the engine stops, fire decides
// nothing more: it waits for its pages in flight, records them, and
// ends.
func (e *Engine) fire(ctx context.Context, h *hold) error {
	t := h.timer
	results := make(chan result)
	inflight := map[int]bool{}
	var finished []result // ended, not yet recorded
	var retryAt time.Time // when a failed lookup is tried again
	recordTries := 0      // failed records of pages that went out
	fireTries := 0        // failed commits of a fire that sent nothing
	// released: a commit that gave the claim up failed, and may have
	// landed all the same (its answer lost): another engine may hold the
	// claim now. The fire decides nothing more: it records what went
	// out, and ends.
	released := false
	for {
		held := !released && e.mayStart(h)
		var send []klaxon.Notification
		var inc *klaxon.Incident
		var firstPage time.Duration
		stepped := false    // the commit records a step taken
		lookupAt := retryAt // as fn sets it, committed or not
		done := false
		cctx, cancel := context.WithTimeout(ctx, recordTimeout)
		dir := e.dir()
		build := func(g klaxon.Group) (*klaxon.Commit, error) {
			send, inc, done, firstPage, lookupAt, stepped = nil, nil, false, 0, retryAt, false
			if g.Open == nil || g.Open.ID != t.Incident {
				return e.recordClosed(cctx, g, t, finished, len(inflight) == 0, &done)
			}
			cur := incident.Clone(g.Open)
			now := e.now()
			changed, first := e.record(cur, now, finished)
			if held && len(inflight) == 0 && e.heldOn(cctx, cur, now) {
				// Another window holds every firing alert still.
				inc, done = cur, true
				c := &klaxon.Commit{Open: cur.ID, Claim: t.Claim, Urgent: true, Incidents: []*klaxon.Incident{cur}}
				c.Schedule(cur, NextDue(cur))
				return c, nil
			}
			if held && !now.Before(lookupAt) {
				// A last step whose pages kept failing long enough
				// stops waiting for them, though none ended just now.
				endWait(cur, now)
				walked, err := Walk(cur, now, e.users(cctx, dir, cur), userTargets(dir.Fallback()))
				lookupAt = time.Time{}
				switch {
				case errors.As(err, new(*CatchUpError)):
					// The steps walked stand; the catch-up of a
					// raised urgency is put off, and looked up
					// again then.
					cur.Escalation.RaiseDue = e.lookupFailed(cur, now, err)
					walked = true
				case errors.As(err, new(*StepsError)):
					// The catch-up's pages stand; the steps are
					// looked up again later.
					lookupAt = e.lookupFailed(cur, now, err)
					walked = true
				case err != nil:
					// Who to page is unknown: say so, and look again later.
					cur = incident.Clone(g.Open)
					e.record(cur, now, finished) // as before the walk
					lookupAt = e.lookupFailed(cur, now, err)
					if rd := cur.Escalation.RaiseDue; !rd.IsZero() && !now.Before(rd) {
						// The catch-up of a raised urgency was due
						// and failed too: it is put off with the
						// steps, not due again at once.
						cur.Escalation.RaiseDue = lookupAt
					}
					walked = true
				}
				changed = changed || walked
				stepped = slices.ContainsFunc(cur.Recorded, func(ev klaxon.Event) bool { return ev.Kind == klaxon.EventEscalated })
			}
			if held {
				for _, n := range Due(cur, now) {
					if !inflight[n.ID] {
						send = append(send, n)
					}
				}
			}
			inc, firstPage = cur, first
			c := &klaxon.Commit{Open: cur.ID, Claim: t.Claim, Urgent: true}
			if changed {
				c.Incidents = []*klaxon.Incident{cur}
				c.Paged = NewlyPaged(g.Open, cur)
			}
			if len(send) > 0 || len(inflight) > 0 {
				// Keep the claim until the pages are sent and recorded.
				if !changed {
					return nil, nil
				}
				return c, nil
			}
			done = true
			if lookupAt.After(now) {
				// The step waits for the lookup; other pages, and the
				// catch-up of a raised urgency, keep their time.
				due := lookupAt
				for _, n := range cur.Pending {
					if n.Due.Before(due) {
						due = n.Due
					}
				}
				if rd := cur.Escalation.RaiseDue; !rd.IsZero() && rd.Before(due) {
					due = rd
				}
				c.Schedule(cur, due)
			} else {
				c.Schedule(cur, NextDue(cur))
			}
			return c, nil
		}
		var landed *klaxon.Commit
		err := klaxon.Update(cctx, e.store, t.Group, nil, func(g klaxon.Group) (*klaxon.Commit, error) {
			c, err := build(g)
			// The last commit gives the claim up: a renewal meanwhile
			// finds it gone.
			h.releasing(err == nil && done)
			landed = c
			return c, err
		})
		e.handOn(landed, err)
		if err != nil {
			h.releasing(false) // the claim is still the fire's: a loss is news
			if done {
				// Made again, the commit sets what this one set.
				released, retryAt = true, lookupAt
			}
		}
		cancel()
		switch {
		case err != nil && len(inflight) == 0 && wentOut(finished) && h.held(e.now(), 0):
			// Pages went out and are not on record: a next holder would
			// send them again. Keep the claim and record them when the
			// store answers, for as long as the claim holds: soon, since
			// a store back from an outage has the lease's rest to do it.
			recordTries++
			e.log.Error("record pages", "incident", t.Incident, "try", recordTries, "err", err)
			e.shared.StoreError(telemetry.StoreEngine, err)
			h.extend(e.now().Add(e.lease))
			time.Sleep(recordRetry.after(recordTries)) // even as the engine stops: they must be on record
			continue
		case err != nil && len(inflight) == 0 && !h.quitting() && mayLand(err) &&
			h.held(e.now(), recordRetry.after(fireTries+1)):
			// Nothing went out, and until its lease ends nobody else
			// fires the incident, unless a commit that gave the claim up
			// landed (released: the fire then decides nothing, and only
			// gives the claim up again). Try again while it holds, so
			// that a store back from an outage pages at once, or lets
			// another claim do so, not at the lease's end.
			fireTries++
			e.log.Warn("escalate: try again while the claim holds", "incident", t.Incident, "try", fireTries, "err", err)
			e.shared.StoreError(telemetry.StoreEngine, err)
			if !h.sleep(recordRetry.after(fireTries)) {
				return err
			}
			continue
		case err != nil && len(inflight) == 0:
			return err
		case err != nil:
			// Pages are in flight: record them when the store answers.
			e.log.Error("record pages", "incident", t.Incident, "err", err)
			e.shared.StoreError(telemetry.StoreEngine, err)
			send, done = nil, false
		default:
			finished, retryAt, recordTries, fireTries = nil, lookupAt, 0, 0
			if firstPage > 0 {
				// The exemplar is the delivery that opened the incident.
				octx := ctx
				if link, ok := telemetry.LinkTo(inc.Trace); ok {
					octx = trace.ContextWithSpanContext(ctx, link.SpanContext)
				}
				telemetry.Observe(octx, e.metrics.firstPage, firstPage.Seconds())
			}
		}
		if done {
			return nil
		}
		// fresh: the pages were decided by a commit that landed just now,
		// which shows the store takes writes; a page due again with
		// nothing to commit (put off, or tried again) was not.
		fresh := landed != nil && err == nil
		sctx := ctx // the step's span's, for its pages
		if stepped && err == nil {
			sctx = e.stepSpan(ctx, inc)
		}
		for _, n := range send {
			// A page extends the claim's renewal by its timeout once it
			// has its channel (page): a page put off again and again
			// behind one that hangs must not keep the claim alive.
			inflight[n.ID] = true
			go func() {
				results <- e.page(sctx, h, dir, inc, n, fresh)
			}()
		}
		wait := e.margin() / 2
		if inc != nil && held {
			if next := nextWake(inc, inflight, retryAt); !next.IsZero() {
				floor := time.Duration(0)
				if err != nil {
					// What is due is what failed: tried again at once,
					// it would spin against a store that does not write.
					floor = recordRetry.First
				}
				wait = min(wait, max(next.Sub(e.now()), floor))
			}
		}
		timer := time.NewTimer(wait)
		select {
		case r := <-results:
			finished = append(finished, r)
			delete(inflight, r.n.ID)
			// Pages that ended together are recorded together.
		drain:
			for {
				select {
				case r := <-results:
					finished = append(finished, r)
					delete(inflight, r.n.ID)
				default:
					break drain
				}
			}
		case <-timer.C:
		}
		timer.Stop()
	}
}

// mayLand reports whether a fire's commit that failed with err may
// land if made again: not one the store refuses as invalid, nor one
// whose incident is gone.
func mayLand(err error) bool {
	return !errors.Is(err, klaxon.ErrInvalid) && !errors.Is(err, klaxon.ErrNotFound)
}

// handOn gives the incidents of commit c, which the store answered
// with err, to Committed once it landed (the pages and steps it
// recorded: for chat messages and subscribers), or to Unsure when it
// failed and may have landed.
func (e *Engine) handOn(c *klaxon.Commit, err error) {
	switch {
	case c == nil || len(c.Incidents) == 0:
	case err == nil && e.committed != nil:
		e.committed(c.Incidents)
	case err != nil && mayLand(err) && e.unsure != nil:
		e.unsure(c.Incidents)
	}
}

// recordRetry is the wait before recording again the pages that went
// out, after a record failed: short, so that a store that comes back
// within the lease gets them on record before another claim sends them
// again.
var recordRetry = Backoff{First: time.Second, Max: 4 * time.Second}

// wentOut reports whether any of finished went out, or was tried, and
// so is to be recorded.
func wentOut(finished []result) bool {
	return slices.ContainsFunc(finished, func(r result) bool { return r.event != nil })
}

// recordClosed is fire's commit once the incident closed: the pages that
// went out meanwhile go on its timeline, for the review, and its timer
// goes once no page is in flight.
func (e *Engine) recordClosed(ctx context.Context, g klaxon.Group, t klaxon.Timer, finished []result, last bool, done *bool) (*klaxon.Commit, error) {
	*done = last
	c := &klaxon.Commit{Open: openID(g), Claim: t.Claim, Urgent: true}
	if last {
		c.Cancel = []string{t.Incident}
	}
	if !wentOut(finished) {
		if !last {
			return nil, nil
		}
		return c, nil
	}
	closed, err := e.store.Incident(ctx, t.Incident)
	if err != nil {
		return nil, err
	}
	closed = incident.Clone(closed)
	for _, r := range finished {
		recordTry(closed, r)
	}
	if len(closed.Recorded) == 0 && !last {
		return nil, nil
	}
	if len(closed.Recorded) > 0 {
		c.Incidents = []*klaxon.Incident{closed}
	}
	return c, nil
}

// recordTry records r's try on inc, unless it is on record already: a
// commit that recorded it landed, and the store answered with an error
// all the same (its reply lost), so that fire records what it finished
// again. A try is known by when it ended (Sent.Tried). It reports
// whether the try was on record already.
func recordTry(inc *klaxon.Incident, r result) (known bool) {
	if r.event == nil {
		return false
	}
	if s := inc.FindSent(r.n.ID); s != nil && !s.Tried.IsZero() && s.Tried.Equal(r.event.At) {
		return true
	}
	inc.Record(*r.event)
	if s := inc.FindSent(r.n.ID); s != nil {
		s.Tried = r.event.At
	}
	return false
}

// record applies to inc what became of the pages in finished: the tries
// go on the timeline, the notifications done with leave the outbox, a
// final failure makes the person's next rule due now, and a page that
// went out ends the retries of the person's earlier rules. It reports
// whether it changed inc, and, when finished holds the incident's first
// page, how long after the incident opened it went out.
func (e *Engine) record(inc *klaxon.Incident, now time.Time, finished []result) (changed bool, firstPage time.Duration) {
	if len(finished) == 0 {
		return false, 0
	}
	first := inc.PagedAt.IsZero()
	known := make([]bool, len(finished))
	late := make([]bool, len(finished))
	early := make([]bool, len(finished))
	for i, r := range finished {
		late[i] = r.final && reportedReached(inc, r.n.ID)
		early[i] = reportedBeforeTry(inc, r)
		known[i] = recordTry(inc, r)
		if early[i] {
			// Its provider reported it reached while the try was with
			// it, and the try then failed in a way that says it may
			// have gone out (a request that timed out, made again
			// inline, while the provider sent the first): it went out,
			// as Delivery records one reported after its failed try. A
			// copy reported not reached as well (the request made again,
			// each copy sent) leaves it reached: the person was, by the
			// other copy, as Delivery counts a call answered after one
			// of another try rang unanswered.
			wentOutAfterAll(inc, r.event.At, klaxon.Sent{Notification: r.n.ID, Step: r.n.Step, User: r.n.User, Via: r.n.Via},
				"reached as it was tried")
		}
		if late[i] {
			// A retry that was with its provider when the try before it,
			// which failed but went out, was reported reached (Delivery):
			// its refusal is on the timeline, and the page stays reached.
			inc.FindSent(r.n.ID).Failed = false
			inc.Escalation.Reached = inc.Escalation.Reached || r.n.ID > inc.WalkFrom
		}
		if r.held != nil && firstDeferral(inc, r.n.ID) {
			inc.Record(*r.held)
		}
	}
	// A page that went out though its try failed (early) is done with,
	// and ends the retries of its person's earlier rules, as one whose
	// try went out.
	outcome := slices.Clone(finished)
	for i, r := range finished {
		if early[i] {
			ev := *r.event
			ev.Kind = klaxon.EventPageSent
			outcome[i].event, outcome[i].keep = &ev, time.Time{}
		}
	}
	inc.Pending = settle(inc.Pending, outcome, now)
	for i, r := range finished {
		// A final failure on record already made the next rule due when
		// it landed: made again, it would take the rule after that too.
		if r.final && !known[i] && !late[i] {
			NextRuleNow(inc, r.n.User, now)
		}
	}
	dropOutrun(inc, now, outcome)
	endWait(inc, now)
	if first && !inc.PagedAt.IsZero() {
		return true, inc.PagedAt.Sub(inc.CreatedAt)
	}
	return true, 0
}

// reportedReached reports whether notification id of inc left the
// outbox once its provider reported it reached (escalate's Delivery):
// sent, delivered, and not failed since.
func reportedReached(inc *klaxon.Incident, id int) bool {
	s := inc.FindSent(id)
	return s != nil && !s.At.IsZero() && s.Delivered && !s.Failed &&
		!slices.ContainsFunc(inc.Pending, func(n klaxon.Notification) bool { return n.ID == id })
}

// reportedBeforeTry reports whether r is a try of a page that failed, to
// be tried again, whose provider reported the page reached before any
// try of it was on record (Delivery, while the first try was with the
// provider): the report beat the try's end, and the page went out. A
// report of not reached as well (a copy the provider sent of an SMS
// whose request was made again inline) leaves it gone out, and reached:
// the person was, by the copy reported so (see record).
func reportedBeforeTry(inc *klaxon.Incident, r result) bool {
	if r.event == nil || r.event.Kind != klaxon.EventPageFailed || r.event.How != klaxon.HowRetry {
		return false
	}
	s := inc.FindSent(r.n.ID)
	return s != nil && s.At.IsZero() && s.Delivered && s.Tries == 0
}

// firstDeferral reports whether notification id of inc is pending and
// was not held back by its channel since its last failed try: a page
// held back again and again (a long pause, a queue for a person's
// window) is on the timeline once, from the first time, and not again
// once a commit that recorded it landed; a page put off before for
// another reason (a try that failed, its channel busy) is on it the
// first time it is held back, and again when held back after a try
// that failed since.
func firstDeferral(inc *klaxon.Incident, id int) bool {
	i := slices.IndexFunc(inc.Pending, func(n klaxon.Notification) bool { return n.ID == id })
	return i >= 0 && !inc.Pending[i].Deferred
}

// nextWake is when fire has something to do for inc besides the pages in
// flight: a pending page or the next step falls due (a last step without
// escalate_after stops waiting for its pages that keep failing: endWait),
// or a failed lookup is tried again. Zero when nothing is.
func nextWake(inc *klaxon.Incident, inflight map[int]bool, retryAt time.Time) time.Time {
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	earliest(retryAt)
	if inc.State != klaxon.StateTriggered {
		return next
	}
	for _, n := range inc.Pending {
		if !inflight[n.ID] {
			earliest(n.Due)
		}
	}
	// A step that waits for a failed lookup is due at retryAt.
	if retryAt.IsZero() && !inc.Escalation.Done && len(inc.Policy.Steps) > 0 && inc.Escalation.Step >= 0 {
		earliest(inc.Escalation.NextAt)
		if at, ok := unreachedAt(inc); ok {
			earliest(at) // a last step stops waiting for pages that fail
		}
	}
	return next
}

// lookupFailed records on inc that the targets of its next step could not
// be looked up, and returns when to look again.
func (e *Engine) lookupFailed(inc *klaxon.Incident, now time.Time, err error) time.Time {
	again := now.Add(e.retry.after(inc.Escalation.LookupFailures + 1))
	e.log.Error("look up who to page", "incident", inc.ID, "err", err)
	inc.Record(klaxon.Event{At: now, Kind: klaxon.EventLookupFailed,
		Text: fmt.Sprintf("could not look up who to page: %v; looking again at %s", err, again.UTC().Format(time.RFC3339))})
	return again
}
