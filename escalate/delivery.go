package escalate

import (
	"context"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

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
	_, err := e.command(ctx, id, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		var sent *klaxon.Event
		recorded := false
		for i := range inc.Timeline {
			ev := &inc.Timeline[i]
			switch {
			case ev.Notification != n:
			case ev.How == howRetry:
				// A failed try, the engine's own: the reports that count
				// are of the try that went out, after it.
				recorded = false
			case ev.Kind == klaxon.EventPageSent:
				sent = ev
			case ev.Kind == kind:
				recorded = true
			}
		}
		if recorded {
			return false, nil // already recorded
		}
		if sent == nil {
			// The report may beat the commit that records the page as
			// sent: the page is still in the outbox then.
			for _, p := range inc.Pending {
				if p.ID == n {
					step := p.Step
					sent = &klaxon.Event{Step: &step, User: p.User, Via: p.Via}
				}
			}
		}
		if sent == nil {
			return false, fmt.Errorf("notification %d: %w", n, klaxon.ErrNotFound)
		}
		inc.Record(klaxon.Event{At: now, Kind: kind, Step: sent.Step, Notification: n, User: sent.User, Via: sent.Via, Text: detail})
		if !ok && inc.State == klaxon.StateTriggered {
			retry = NextRuleNow(inc, sent.User, now)
		}
		return true, nil
	})
	if retry {
		e.Wake()
	}
	return err
}
