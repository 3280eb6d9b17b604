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
// It reads every open incident: the store keeps no index of pages by
// user, and the open incidents are few.
func (e *Engine) PagedTo(ctx context.Context, user string, before time.Time) (paged, later []*klaxon.Incident, err error) {
	open, err := e.store.Incidents(ctx, klaxon.IncidentFilter{})
	if err != nil {
		return nil, nil, fmt.Errorf("list open incidents: %w", err)
	}
	paged, later = Paged(open, user, before)
	return paged, later, nil
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
			case sent.User != user || sent.At.IsZero():
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
