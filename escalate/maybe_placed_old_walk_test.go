package escalate_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// unreachableAfterMaybePlaced is a phone whose first call to dana fails
// in a way that the provider may have placed it (a timeout, a 5xx), and
// whose later calls to her fail, each to be tried again (her phone is
// off): she is not reached again. Pages to others go out.
type unreachableAfterMaybePlaced struct {
	tries atomic.Int64
}

func (p *unreachableAfterMaybePlaced) Notify(_ context.Context, pg klaxon.Page) error {
	if pg.User.ID != "dana" {
		return nil
	}
	p.tries.Add(1)
	return providerError{retryable: true}
}

// TestMaybePlacedCallOfEarlierWalkReportedReached: dana's call failed
// though it was placed; she answered it and acknowledged on it, which
// gave up its retry. The incident is escalated again (a new walk, from
// the first step: dana), and her calls of the new walk keep failing.
// Then her first call ends, and its status callback reports it
// completed. That call was of the walk before: it reached her then, not
// now. The new walk reached nobody, and pages the fallback (carol), as
// it would without the late report.
func TestMaybePlacedCallOfEarlierWalkReportedReached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &unreachableAfterMaybePlaced{}
		st, e := danaOrCarol(t, ph, nil)
		id := openIncident(t, st, danaPolicy(0), time.Now())
		e.Wake()
		synctest.Wait()
		require.EqualValues(t, 1, ph.tries.Load())
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Len(t, inc.Pending, 1)
		n := inc.Pending[0].ID

		_, err = e.Act(t.Context(), klaxon.ActionAck, id, klaxon.Actor{By: "dana", How: "voice"})
		require.NoError(t, err)
		_, err = e.Escalate(t.Context(), id, klaxon.Actor{By: "erin", How: "api"})
		require.NoError(t, err)
		synctest.Wait()
		require.EqualValues(t, 2, ph.tries.Load(), "the new walk calls dana")
		inc, err = st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Greater(t, inc.WalkFrom, 0)
		require.LessOrEqual(t, n, inc.WalkFrom)

		time.Sleep(30 * time.Second)
		require.NoError(t, e.Delivery(t.Context(), id, n, true, "completed"))
		inc, err = st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.False(t, inc.Escalation.Reached, "a call of the walk before reached dana, not this walk")

		time.Sleep(20 * time.Minute)
		synctest.Wait()
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		text := strings.Join(timelineText(timeline), "\n")
		require.Equal(t, 1, count(timeline, klaxon.EventFallback), "the new walk reached nobody: %s", text)
	})
}
