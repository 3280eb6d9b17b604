package escalate_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// deferringPhone holds back every page for a minute, as a channel does
// to keep to a person's limit or a provider's pause; held counts them.
type deferringPhone struct{ held *atomic.Int64 }

func (p deferringPhone) Notify(context.Context, klaxon.Page) error {
	p.held.Add(1)
	return &klaxon.DeferredError{Until: time.Now().Add(time.Minute)}
}

// TestDeferredPageOnTimeline: a page that its channel held back (a
// person's limit, a provider's pause) is on the timeline, with when it
// is due again, so that a review can say why alice was paged late, or,
// acknowledged meanwhile by someone else, never. Held back again and
// again (a long pause, a queue of pages waiting for the person's
// window), it is on the timeline once.
func TestDeferredPageOnTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		var held atomic.Int64
		e, id := startPaging(t, st, deferringPhone{&held}, smsOnly, retryLater)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		require.GreaterOrEqual(t, held.Load(), int64(5), "the page came due again and again")
		_, err := e.Acknowledge(t.Context(), id, klaxon.Actor{By: "bob", How: "web"})
		require.NoError(t, err)
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		var deferred []klaxon.Event
		for _, ev := range timeline {
			if ev.Notification == 1 && ev.Kind == klaxon.EventPageDeferred {
				deferred = append(deferred, ev)
			}
		}
		require.Len(t, deferred, 1, "the page held back is on the timeline once: %v", timeline)
		require.Equal(t, klaxon.ViaSMS, deferred[0].Via)
		require.Contains(t, deferred[0].Text, "held back by the channel")
	})
}

// failThenDeferPhone fails its first page, to be tried again (a
// provider's 503), then holds back every page for a minute, as a
// provider's pause does.
type failThenDeferPhone struct{ tries *atomic.Int64 }

func (p failThenDeferPhone) Notify(context.Context, klaxon.Page) error {
	if p.tries.Add(1) == 1 {
		return providerError{retryable: true}
	}
	return &klaxon.DeferredError{Until: time.Now().Add(time.Minute)}
}

// TestDeferredAfterFailedTryOnTimeline: a page whose first try failed,
// and that its channel then held back (the provider's pause that came
// with the outage), is on the timeline as held back too: put off before
// by its failed try, it is deferred for the first time all the same,
// and the review must say why it went out late.
func TestDeferredAfterFailedTryOnTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		var tries atomic.Int64
		e, id := startPaging(t, st, failThenDeferPhone{&tries}, smsOnly, retryLater)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		require.GreaterOrEqual(t, tries.Load(), int64(3), "tried, then held back again and again")
		_, err := e.Acknowledge(t.Context(), id, klaxon.Actor{By: "bob", How: "web"})
		require.NoError(t, err)
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		require.Equal(t, 1, count(timeline, klaxon.EventPageDeferred), "%v", timelineText(timeline))
	})
}
