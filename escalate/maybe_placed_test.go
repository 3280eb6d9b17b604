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

// maybePlaced is a phone whose first call to dana fails in a way that
// the provider may have placed it all the same (a timeout, a 5xx: the
// twilio channel's Error.MaybeSent): it is to be tried again.
type maybePlaced struct {
	tries atomic.Int64
}

func (p *maybePlaced) Notify(_ context.Context, pg klaxon.Page) error {
	if p.tries.Add(1) == 1 {
		return providerError{retryable: true}
	}
	return nil
}

// TestMaybePlacedCallReportedReachedIsNotPlacedAgain: a call whose
// placing failed, but which the provider placed all the same, is
// reported by its status callback as answered by its person (completed)
// before the page's retry: the page reached dana, and the retry must not
// call her again once the call ended (the throttle holds her only while
// she is on it).
func TestMaybePlacedCallReportedReachedIsNotPlacedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &maybePlaced{}
		st, e := danaOrCarol(t, ph, nil)
		id := openIncident(t, st, danaPolicy(0), time.Now())
		e.Wake()
		synctest.Wait()
		require.EqualValues(t, 1, ph.tries.Load())

		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Len(t, inc.Pending, 1, "the failed try is to be tried again")
		require.NoError(t, e.Delivery(t.Context(), id, inc.Pending[0].ID, true, "completed"))

		time.Sleep(20 * time.Minute)
		synctest.Wait()
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		require.EqualValues(t, 1, ph.tries.Load(), "dana answered the call, and was called again: %v", timelineText(timeline))
		require.Equal(t, 1, count(timeline, klaxon.EventPageSent), "the call went out: %v", timelineText(timeline))
		require.Zero(t, count(timeline, klaxon.EventFallback), "dana was reached: %v", timelineText(timeline))
		inc, err = st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Empty(t, inc.Pending, "nothing is left to try")
		require.True(t, inc.Escalation.Reached)
		require.False(t, inc.PagedAt.IsZero())
	})
}
