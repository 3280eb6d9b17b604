package escalate_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestMaybePlacedCallOfEarlierWalkReportedReached: dana's call failed
// though it was placed; she answered it and acknowledged on it, which
// gave up its retry. The incident is escalated again (a new walk, from
// the first step: dana), and her calls of the new walk keep failing
// (her phone is off: she is not reached again). Then her first call
// ends, and its status callback reports it completed. That call was of
// the walk before: it reached her then, not now. The new walk reached
// nobody, and pages the fallback (carol), as it would without the late
// report.
func TestMaybePlacedCallOfEarlierWalkReportedReached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &maybeSent{fail: forever, only: danaPages}
		st, e, id := pageDana(t, ph)
		require.EqualValues(t, 1, ph.tries.Load())
		n := pendingID(t, st, id)

		_, err := e.Act(t.Context(), klaxon.ActionAck, id, klaxon.Actor{By: "dana", How: "voice"})
		require.NoError(t, err)
		_, err = e.Escalate(t.Context(), id, klaxon.Actor{By: "erin", How: "api"})
		require.NoError(t, err)
		synctest.Wait()
		require.EqualValues(t, 2, ph.tries.Load(), "the new walk calls dana")
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Greater(t, inc.WalkFrom, 0)
		require.LessOrEqual(t, n, inc.WalkFrom)

		time.Sleep(30 * time.Second)
		require.NoError(t, e.Delivery(t.Context(), id, n, true, "completed"))
		inc, err = st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.False(t, inc.Escalation.Reached, "a call of the walk before reached dana, not this walk")

		timeline, text := settled(t, st, id)
		require.Equal(t, 1, count(timeline, klaxon.EventFallback), "the new walk reached nobody: %s", text)
	})
}

// slowThenRefused is a phone whose first call to dana hangs until
// release and then goes out, and whose later calls to her hang until
// refuse and then fail for good (her number refused). Pages to others
// go out.
type slowThenRefused struct {
	dana            atomic.Int64
	release, refuse chan struct{}
}

func (p *slowThenRefused) Notify(_ context.Context, pg klaxon.Page) error {
	if pg.User.ID != "dana" {
		return nil
	}
	if p.dana.Add(1) == 1 {
		<-p.release
		return nil
	}
	<-p.refuse
	return providerError{retryable: false}
}

// TestPageOfEarlierWalkSentAfterWalkAgain: dana's first call is with its
// provider when she acknowledges (on chat) and erin escalates the
// incident again: a new walk, from dana. The old call then goes out, and
// the new walk's call to her is refused. The old call was of the walk
// before, as one reported reached late (ea37266): the new walk reached
// nobody, and pages the fallback.
func TestPageOfEarlierWalkSentAfterWalkAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &slowThenRefused{release: make(chan struct{}), refuse: make(chan struct{})}
		release, refuse := sync.OnceFunc(func() { close(ph.release) }), sync.OnceFunc(func() { close(ph.refuse) })
		defer refuse()
		defer release()
		st, e, id := pageDana(t, ph)
		require.EqualValues(t, 1, ph.dana.Load())

		_, err := e.Act(t.Context(), klaxon.ActionAck, id, klaxon.Actor{By: "dana", How: "slack"})
		require.NoError(t, err)
		_, err = e.Escalate(t.Context(), id, klaxon.Actor{By: "erin", How: "api"})
		require.NoError(t, err)
		time.Sleep(10 * time.Second) // the fire with the first call in flight reads the incident again
		synctest.Wait()
		_, text := timelineOf(t, st, id)
		require.EqualValues(t, 2, ph.dana.Load(), "the new walk calls dana: %s", text)

		time.Sleep(5 * time.Second)
		release()
		synctest.Wait()
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.False(t, inc.Escalation.Reached, "a call of the walk before went out, not one of this walk")

		time.Sleep(5 * time.Second)
		refuse()
		timeline, text := settled(t, st, id)
		require.Equal(t, 1, count(timeline, klaxon.EventFallback), "the new walk reached nobody: %s", text)
	})
}
