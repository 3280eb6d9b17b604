package escalate

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
)

// reopenEnd takes back the end of inc's walk when it ended as having
// reached someone (it was reached before a report) and a report now says
// it reached nobody: its end comes again at now, and the engine pages
// the fallback (exhaust). A walk that paged its fallback already stays
// ended: a fallback not reached is not paged again.
func reopenEnd(inc *klaxon.Incident, reached bool, now time.Time) {
	esc := &inc.Escalation
	if !esc.Done || !reached || esc.Reached || esc.Step < 0 || esc.Fallback {
		return
	}
	if pagedFallback(inc) {
		return
	}
	esc.Done, esc.NextAt = false, now
}

// pagedFallback reports whether inc's walk has a page of its fallback,
// sent or in the outbox: how a header written before
// Escalation.Fallback tells that its walk ended on the fallback.
func pagedFallback(inc *klaxon.Incident) bool {
	fallback := func(id int, step int) bool { return id > inc.WalkFrom && step == FallbackStep }
	return slices.ContainsFunc(inc.Sent, func(s klaxon.Sent) bool { return fallback(s.Notification, s.Step) }) ||
		slices.ContainsFunc(inc.Pending, func(n klaxon.Notification) bool { return fallback(n.ID, n.Step) })
}

// Delivery records what the provider reported of notification n of
// incident id: reached the person (ok), or not (failed, undelivered,
// busy, no answer, an answering machine). When not, the person's next
// contact method is tried at once. A report already recorded changes
// nothing, so providers may repeat theirs.
func (e *Engine) Delivery(ctx context.Context, id string, n int, ok bool, detail string) error {
	kind := klaxon.EventPageDelivered
	if !ok {
		kind = klaxon.EventPageFailed
	}
	retry := false
	_, err := e.command(ctx, "delivery", klaxon.Actor{How: "delivery report"}, id, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		// The header keeps what became of the latest try that went out:
		// a report already recorded for it changes nothing.
		var sent *klaxon.Sent
		s := inc.FindSent(n)
		if s != nil && ((ok && s.Delivered) || (!ok && s.Failed)) {
			// Also one that came before the page was recorded sent: a
			// call a machine answered is told twice, by the call's TwiML
			// and by its status, and each would take the next rule.
			return false, nil // already recorded
		}
		if s != nil && !s.At.IsZero() {
			sent = s
		} else {
			// The report may beat the commit that records the page as
			// sent: the page is still in the outbox then.
			for _, p := range inc.Pending {
				if p.ID == n {
					sent = &klaxon.Sent{Notification: n, Step: p.Step, User: p.User, Via: p.Via}
				}
			}
		}
		if sent == nil && ok && s != nil && s.Tries > 0 {
			// Its tries failed, and it was given up (an acknowledgement,
			// a step escalated) though its provider sent it all the same
			// (a call answered, and acknowledged on): it went out.
			sent = s
		}
		if sent == nil {
			return false, fmt.Errorf("notification %d: %w", n, klaxon.ErrNotFound)
		}
		step, reached := sent.Step, inc.Escalation.Reached
		if ok && s != nil && s.At.IsZero() && s.Tries > 0 {
			// Its try failed in a way that its provider may have sent it
			// all the same (a call's creation that timed out or answered
			// 5xx), and the provider did: the page reached its person.
			// It went out, and its retry would page them again. A report
			// of not reached before it was of another try's call (one
			// rang unanswered, the next was answered): this one reached,
			// and is the page's latest.
			inc.Pending = slices.DeleteFunc(inc.Pending, func(p klaxon.Notification) bool { return p.ID == n })
			wentOutAfterAll(inc, now, *sent, detail)
		}
		inc.Record(klaxon.Event{At: now, Kind: kind, Step: &step, Notification: n, User: sent.User, Via: sent.Via, Text: detail})
		if !ok && inc.State == klaxon.StateTriggered {
			retry = NextRuleNow(inc, sent.User, now)
			// The walk reached nobody after all: a last step that
			// waits for an acknowledgement goes on, and a walk that
			// ended as having reached someone ends again, now.
			endWait(inc, now)
			reopenEnd(inc, reached, now)
			retry = retry || inc.Escalation.NextAt.Equal(now)
		}
		return true, nil
	})
	if retry {
		e.Wake()
	}
	return err
}

// wentOutAfterAll records on inc that page s, whose try failed in a way
// that its provider may have sent it all the same, went out: its
// provider reported it reached (how says how). A report of not reached
// before, of another copy or try (a call that rang unanswered), is not
// the page's latest: the person was reached.
func wentOutAfterAll(inc *klaxon.Incident, at time.Time, s klaxon.Sent, how string) {
	if got := inc.FindSent(s.Notification); got != nil {
		got.Failed = false
	}
	step := s.Step
	inc.Record(klaxon.Event{At: at, Kind: klaxon.EventPageSent, Step: &step, Notification: s.Notification, User: s.User, Via: s.Via,
		Text: "went out though its try failed: its provider reported it " + how})
}
