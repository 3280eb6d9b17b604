package escalate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/telemetry"
)

// Paging one person: a due notification sent through its channel while
// the claim is held, what became of it, and who a step's targets are.

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
	// held records on the timeline that the page's channel held it
	// back until keep (a person's limit, a provider's pause): no try,
	// so nothing went out that must be on record (wentOut), and recorded
	// only the first time its channel holds it back (see record).
	held *klaxon.Event
	// busy: its channel had no slot for it (every slot held by pages
	// that hang): put off, it counts as failing (see unreachedAt). A
	// page a channel defers to a time it gives (a person's limit, a
	// provider's pause) is to go then, and does not.
	busy bool
}

// unreadWait is how long a page waits when its incident could not be
// read just before it was to go out.
const unreadWait = time.Second

// page sends one notification, if the claim is still held and the
// incident still wants it. One whose channel stays busy (slot) is put
// off a moment; the page timeout bounds a try from when it has a slot.
func (e *Engine) page(ctx context.Context, h *hold, dir Directory, inc *klaxon.Incident, n klaxon.Notification, fresh bool) result {
	step := n.Step
	ev := klaxon.Event{Kind: klaxon.EventPageSent, Step: &step, Notification: n.ID, User: n.User, Via: n.Via}
	u, ok := dir.User(n.User)
	if !ok {
		// Removed from the users file since the page was decided.
		e.metrics.pages.WithLabelValues(n.Via, "failed").Inc()
		e.log.WarnContext(ctx, "page: unknown user, removed from the users file since the step paged", "incident", inc.ID, "user", n.User, "channel", n.Via)
		ev.At, ev.Kind, ev.Text = e.now(), klaxon.EventPageFailed, "unknown user "+n.User
		return result{n: n, event: &ev, final: true}
	}
	wait, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(h.ctx, cancel) // the claim is lost
	defer stop()
	if h.quit != nil {
		stopQuit := context.AfterFunc(h.quit, cancel) // the engine stops
		defer stopQuit()
	}
	free, waited, err := e.slot(wait, h, n.Via)
	if errors.Is(err, errBusy) {
		e.metrics.pages.WithLabelValues(n.Via, "busy").Inc()
		again := busyRetry
		if !waited {
			again = turnedAway
		}
		return result{n: n, keep: e.now().Add(again), busy: true}
	}
	if err == nil {
		defer free()
		if (waited || !fresh) && !e.writable(ctx, h) {
			if h.ctx.Err() != nil {
				return result{n: n, stay: true} // the claim's next holder sends it
			}
			// No commit of just now decided the page (it waited for its
			// channel, or came due again with nothing to commit), and
			// the store takes no write now (a full disk still reads):
			// the page could not be put on record, and its next holder
			// would send it again. It waits, as one unread does.
			return result{n: n, keep: e.now().Add(unreadWait)}
		}
		// The page's time with its provider starts now, however long it
		// waited for the channel, and its claim is renewed for it.
		h.extend(e.now().Add(e.pageTimeout))
		var cancelPage context.CancelFunc
		ctx, cancelPage = context.WithTimeout(ctx, e.pageTimeout)
		defer cancelPage()
		if !e.mayStart(h) {
			err = errNotHeld
		} else if wanted, rerr := klaxon.PageWanted(ctx, e.store, inc.ID, n.ID); rerr != nil {
			// The store does not answer: the page could not be put
			// on record either, and the claim cannot be renewed. It
			// is not sent, and is due again a little later (a read
			// that fails while commits go through, as on a Redis
			// Cluster node apart from the group's, must not spin); if
			// the claim lapses meanwhile, its next holder sends it
			// once the store answers: once, rather than now and again.
			e.shared.StoreError(telemetry.StoreEngine, rerr)
			return result{n: n, keep: e.now().Add(unreadWait)}
		} else if !wanted {
			e.metrics.pages.WithLabelValues(n.Via, "withdrawn").Inc()
			return result{n: n} // done with: nothing to record
		} else if !e.mayStart(h) {
			// The read took long (a store slow to answer, a link that
			// went dark for a while): the claim may have lapsed
			// meanwhile, and another replica may be sending the page.
			// Its holder sends it; this one does not, now.
			err = errNotHeld
		}
	}
	pctx := ctx // the page's span's, for the log lines about it
	if err == nil {
		p := klaxon.Page{Incident: inc.ID, Opened: inc.CreatedAt, Notification: n.ID, User: u, Via: n.Via,
			Summary: inc.Summary, Severity: inc.Severity, Alerts: inc.FiringCount, Text: PageText(inc)}
		var span trace.Span
		pctx, span = e.pageSpan(ctx, inc, n)
		err = e.notifier.Notify(pctx, p)
		endPage(span, err)
	} else if quit := h.quitting(); quit || h.ctx.Err() != nil || errors.Is(err, errNotHeld) {
		if quit {
			e.left.Add(1)
		}
		return result{n: n, stay: true} // the claim's next holder sends it
	}
	ev.At = e.now()
	var later *klaxon.DeferredError
	switch {
	case err == nil:
		channel := n.Via
		if c, ok := e.notifier.(carrier); ok && c.Carrier(n.Via) != n.Via {
			// Nobody was reached by n.Via: say what did carry the page.
			channel = c.Carrier(n.Via)
			ev.Via = channel
			ev.Text = fmt.Sprintf("standing in for %s, which is not configured", n.Via)
		}
		e.metrics.pages.WithLabelValues(channel, "sent").Inc()
		return result{n: n, event: &ev}
	case errors.As(err, &later):
		// On the timeline, for the review: why the page went out late,
		// or, the incident acknowledged meanwhile, never.
		e.metrics.pages.WithLabelValues(n.Via, "deferred").Inc()
		ev.Kind, ev.Text = klaxon.EventPageDeferred, "held back by the channel until "+later.Until.UTC().Format(time.RFC3339)
		return result{n: n, held: &ev, keep: later.Until}
	case errors.Is(err, klaxon.ErrBundled):
		e.metrics.pages.WithLabelValues(n.Via, "bundled").Inc()
		ev.Text = "in a bundle with other incidents"
		return result{n: n, event: &ev}
	}
	ev.Kind = klaxon.EventPageFailed
	// A try cut off by the page's own deadline (--page-timeout) is tried
	// again, whatever the channel makes of it: a channel reads the end of
	// its context as its caller giving up, which this is not.
	if !retryable(err) && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		e.metrics.pages.WithLabelValues(n.Via, "failed").Inc()
		e.log.WarnContext(pctx, "page", "incident", inc.ID, "user", n.User, "channel", n.Via, "err", err)
		ev.Text = err.Error()
		return result{n: n, event: &ev, final: true}
	}
	e.metrics.pages.WithLabelValues(n.Via, "retried").Inc()
	try := tries(inc, n.ID) + 1
	// No sooner than the provider asked (a 429's Retry-After), up to the
	// longest backoff.
	again := ev.At.Add(max(e.retry.after(try), min(klaxon.WaitOf(err), e.retry.Max)))
	e.log.WarnContext(pctx, "page, to be tried again", "incident", inc.ID, "user", n.User, "channel", n.Via, "try", try, "err", err)
	ev.How = howRetry
	ev.Text = fmt.Sprintf("try %d failed: %v; trying again at %s", try, err, again.UTC().Format(time.RFC3339))
	return result{n: n, event: &ev, keep: again}
}

// pageSpan starts the span of page n of inc: a child of the step's span
// when ctx has it (a page the step sends at once), else a trace of its
// own; linked to the trace that opened inc either way, as the escalation
// goes on long after the delivery's trace ended.
func (e *Engine) pageSpan(ctx context.Context, inc *klaxon.Incident, n klaxon.Notification) (context.Context, trace.Span) {
	if e.tracer == nil {
		return ctx, trace.SpanFromContext(context.Background())
	}
	return e.tracer.Start(ctx, "escalate.page", e.linked(ctx, inc, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
		attribute.String("klaxon.incident", inc.ID), attribute.Int("klaxon.notification", n.ID),
		attribute.Int("klaxon.step", n.Step), attribute.String("klaxon.user", n.User), attribute.String("klaxon.via", n.Via)))...)
}

// endPage ends a page's span: a page deferred (a person's limit) or
// bundled with others is no failure.
func endPage(span trace.Span, err error) {
	var later *klaxon.DeferredError
	switch {
	case errors.As(err, &later):
		span.SetAttributes(attribute.String("klaxon.result", "deferred"))
		err = nil
	case errors.Is(err, klaxon.ErrBundled):
		span.SetAttributes(attribute.String("klaxon.result", "bundled"))
		err = nil
	}
	telemetry.End(span, err)
}

// stepSpan records the step inc has taken as a span, a trace of its own
// linked to the trace that opened inc, and returns ctx with it, for the
// pages the step sends.
func (e *Engine) stepSpan(ctx context.Context, inc *klaxon.Incident) context.Context {
	if e.tracer == nil {
		return ctx
	}
	ctx, span := e.tracer.Start(ctx, "escalate.step", e.linked(ctx, inc, trace.WithAttributes(attribute.String("klaxon.incident", inc.ID),
		attribute.Int("klaxon.step", inc.Escalation.Step), attribute.Int("klaxon.round", inc.Escalation.Round)))...)
	span.End() // the decision; its pages are its children
	return ctx
}

// linked adds to opts a new root, unless ctx is in a span, and a link to
// the trace that opened inc.
func (e *Engine) linked(ctx context.Context, inc *klaxon.Incident, opts ...trace.SpanStartOption) []trace.SpanStartOption {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		opts = append(opts, trace.WithNewRoot())
	}
	if link, ok := telemetry.LinkTo(inc.Trace); ok {
		opts = append(opts, trace.WithLinks(link))
	}
	return opts
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

// settle updates pending with what became of the notifications sent at
// now: those done with go, the others stay, due when results say; one
// put off for want of a slot for the first time notes now, one its
// channel held back is held (Deferred) until a try of it fails again. A
// notification no longer pending (the incident was acknowledged
// meanwhile) stays gone.
func settle(pending []klaxon.Notification, results []result, now time.Time) []klaxon.Notification {
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
			p.Due, p.PutOff = r.keep, true
			if r.busy && p.PutOffAt.IsZero() {
				p.PutOffAt = now
			}
			switch {
			case r.held != nil:
				// Its channel took it and gave it a time: it is to go
				// then, and fails no more (waitEnds), unless it is held
				// for longer than heldLimit.
				if !p.Deferred || p.HeldAt.IsZero() {
					p.HeldAt = now
				}
				p.Deferred, p.PutOffAt = true, time.Time{}
			case r.event != nil && r.event.Kind == klaxon.EventPageFailed:
				// A try failed after its hold: it fails again, and a
				// next hold goes on the timeline too.
				p.Deferred, p.HeldAt = false, time.Time{}
			}
		default:
			continue
		}
		out = append(out, p)
	}
	return out
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
