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

// maybePlacedTwice is a phone whose first two calls fail in a way that
// the provider may have placed them all the same (a timeout, a 5xx).
type maybePlacedTwice struct {
	tries atomic.Int64
}

func (p *maybePlacedTwice) Notify(_ context.Context, pg klaxon.Page) error {
	if p.tries.Add(1) <= 2 {
		return providerError{retryable: true}
	}
	return nil
}

// TestMaybePlacedCallReachedAfterOneUnanswered: both tries of dana's
// page failed though the provider placed each call. The first rang
// unanswered (no-answer), the second dana answered (completed). Her
// page reached her: the walk must count her reached, and not page the
// fallback, as it does for one call reported completed.
func TestMaybePlacedCallReachedAfterOneUnanswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &maybePlacedTwice{}
		st, e := danaOrCarol(t, ph, nil)
		id := openIncident(t, st, danaPolicy(0), time.Now())
		e.Wake()
		synctest.Wait()
		require.EqualValues(t, 1, ph.tries.Load())
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Len(t, inc.Pending, 1)
		n := inc.Pending[0].ID

		time.Sleep(time.Second)
		require.NoError(t, e.Delivery(t.Context(), id, n, false, "no-answer"))
		time.Sleep(10 * time.Second) // the retry (10 s)
		synctest.Wait()
		require.EqualValues(t, 2, ph.tries.Load())
		require.NoError(t, e.Delivery(t.Context(), id, n, true, "completed"))

		time.Sleep(20 * time.Minute)
		synctest.Wait()
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		text := strings.Join(timelineText(timeline), "\n")
		require.EqualValues(t, 2, ph.tries.Load(), "dana answered the second call: %s", text)
		require.Zero(t, count(timeline, klaxon.EventFallback), "dana answered the second call: %s", text)
		inc, err = st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.True(t, inc.Escalation.Reached, text)
	})
}
