package escalate

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
)

// PagedTo lists the open incidents that paged user by before, latest
// page first, and those that paged user only after it (see Paged).
//
// It reads only the open incidents that paged user, from the store's
// index of pages by user (Store.PagedIncidents), which the engine's
// commits keep (NewlyPaged): a reply in a storm of open incidents reads
// the few that concern the person.
func (e *Engine) PagedTo(ctx context.Context, user string, before time.Time) (paged, later []*klaxon.Incident, err error) {
	open, err := e.store.PagedIncidents(ctx, user)
	if err != nil {
		return nil, nil, fmt.Errorf("list incidents paged to %s: %w", user, err)
	}
	paged, later = Paged(open, user, before)
	return paged, later, nil
}

// NewlyPaged names the users that after, an incident as a commit leaves
// it, has a page to and before, the same incident as read, had not (see
// klaxon.Incident.Pages): the commit's Paged, which the store indexes.
// Every commit of the engine that may add notifications (a walk, an
// escalation) fills its Paged with it.
func NewlyPaged(before, after *klaxon.Incident) []klaxon.Paging {
	var out []klaxon.Paging
	for _, u := range after.PagedUsers() {
		if !before.Pages(u) {
			out = append(out, klaxon.Paging{User: u, Incident: after.ID})
		}
	}
	return out
}

// Paged splits the incidents of open that paged user: those with a page
// sent by before, latest page first, and those paged only after it or
// with a page to user still in the outbox. A reply by before that names
// no incident is about the first: the person had not been paged for the
// others when they replied.
func Paged(open []*klaxon.Incident, user string, before time.Time) (paged, later []*klaxon.Incident) {
	last := map[string]int64{}
	for _, inc := range open {
		after := false
		for _, sent := range inc.Sent {
			switch {
			// A page reported undelivered (an SMS that failed, a call
			// a machine answered) never reached the person: a bare reply
			// is not about it.
			case sent.User != user || sent.At.IsZero() || sent.Failed:
			case sent.At.After(before):
				after = true
			default:
				last[inc.ID] = max(last[inc.ID], sent.At.UnixNano())
			}
		}
		// A page still in the outbox may be going out now, or not yet:
		// a reply that names the incident may act on it, a bare or "all"
		// one may not.
		for _, n := range inc.Pending {
			if n.User == user {
				after = true
			}
		}
		if _, ok := last[inc.ID]; ok {
			paged = append(paged, inc)
		} else if after {
			later = append(later, inc)
		}
	}
	slices.SortStableFunc(paged, func(a, b *klaxon.Incident) int { return cmp.Compare(last[b.ID], last[a.ID]) })
	return paged, later
}
