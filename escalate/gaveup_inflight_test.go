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

// thirdTimeLuckyPhone fails its first two pages, to be tried again, and
// sends the third once open is closed.
type thirdTimeLuckyPhone struct {
	tries atomic.Int64
	open  chan struct{}
}

func (p *thirdTimeLuckyPhone) Notify(context.Context, klaxon.Page) error {
	if p.tries.Add(1) <= 2 {
		return providerError{retryable: true}
	}
	<-p.open
	return nil
}

// TestAckWhileRetryInFlightIsNoGiveUp: a page whose two tries failed is
// tried a third time, and the incident is acknowledged while that try
// is with its provider: the try goes out (a page handed to its provider
// goes out), and the timeline must not say it was given up, not tried
// again: the review would report a page that reached alice as failed.
func TestAckWhileRetryInFlightIsNoGiveUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		ph := &thirdTimeLuckyPhone{open: make(chan struct{})}
		e, id := startPaging(t, st, ph, smsOnly, retryLater)
		for ph.tries.Load() < 3 {
			time.Sleep(time.Second)
		}
		synctest.Wait() // the third try is with its provider
		_, err := e.Acknowledge(t.Context(), id, klaxon.Actor{By: "bob", How: "web"})
		require.NoError(t, err)
		close(ph.open)
		time.Sleep(time.Minute)
		synctest.Wait()
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		require.Equal(t, 1, count(timeline, klaxon.EventPageSent), "%v", timelineText(timeline))
		require.Equal(t, 2, count(timeline, klaxon.EventPageFailed), "the two tries that failed, no page given up: %v", timelineText(timeline))
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.False(t, inc.FindSent(1).Failed, "the page went out")
	})
}
