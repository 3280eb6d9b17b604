package escalate_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// deferringPhone holds back every page for ten minutes, as a channel
// does to keep to a person's limit or a provider's pause.
type deferringPhone struct{}

func (deferringPhone) Notify(context.Context, klaxon.Page) error {
	return &klaxon.DeferredError{Until: time.Now().Add(10 * time.Minute)}
}

// TestDeferredPageOnTimeline: a page that its channel held back (a
// person's limit, a provider's pause) is on the timeline, with until
// when, so that a review can say why alice was paged late, or, acknowledged
// meanwhile by someone else, never.
func TestDeferredPageOnTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		e, id := startPaging(t, st, deferringPhone{}, smsOnly, retryLater)
		time.Sleep(time.Minute)
		synctest.Wait()
		_, err := e.Acknowledge(t.Context(), id, klaxon.Actor{By: "bob", How: "web"})
		require.NoError(t, err)
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		var page []klaxon.Event
		for _, ev := range timeline {
			if ev.Notification == 1 {
				page = append(page, ev)
			}
		}
		require.NotEmpty(t, page, "the page held back is on the timeline: %v", timeline)
	})
}
