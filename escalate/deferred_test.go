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
// to keep to a person's limit or a provider's pause; with failFirst, it
// fails the first, to be tried again (a provider's 503 before its
// pause). calls counts the pages.
type deferringPhone struct {
	calls     *atomic.Int64
	failFirst bool
}

func (p deferringPhone) Notify(context.Context, klaxon.Page) error {
	if p.calls.Add(1) == 1 && p.failFirst {
		return providerError{retryable: true}
	}
	return &klaxon.DeferredError{Until: time.Now().Add(time.Minute)}
}

// TestDeferredPageOnTimeline: a page that its channel held back (a
// person's limit, a provider's pause) is on the timeline, with when it
// is due again, so that a review can say why alice was paged late, or,
// acknowledged meanwhile by someone else, never. Held back again and
// again (a long pause, a queue of pages waiting for the person's
// window), it is on the timeline once; put off before by a try that
// failed, it is on it all the same, the first time it is held back.
func TestDeferredPageOnTimeline(t *testing.T) {
	for _, failFirst := range []bool{false, true} {
		name := map[bool]string{false: "held back at once", true: "held back after a failed try"}[failFirst]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := openStore(t)
				var calls atomic.Int64
				e, id := startPaging(t, st, deferringPhone{&calls, failFirst}, smsOnly, retryLater)
				time.Sleep(10 * time.Minute)
				synctest.Wait()
				require.GreaterOrEqual(t, calls.Load(), int64(5), "the page came due again and again")
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
				require.Len(t, deferred, 1, "the page held back is on the timeline once: %v", timelineText(timeline))
				require.Equal(t, klaxon.ViaSMS, deferred[0].Via)
				require.Contains(t, deferred[0].Text, "held back by the channel")
			})
		})
	}
}
