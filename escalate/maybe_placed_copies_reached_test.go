package escalate_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestMaybePlacedCopyAnsweredCountsReached: dana's first call is placed
// twice while its try is with the provider (its creation timed out and
// was made again inline). The first copy rings unanswered, she answers
// the second, and then the try fails in a way that says it may have gone
// out. Her page reached her, as one reported so after its try failed
// (TestMaybePlacedCallReachedAfterOneUnanswered): the walk counts her
// reached, and does not page the fallback.
func TestMaybePlacedCopyAnsweredCountsReached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ph := &slowMaybePlacedDana{release: make(chan struct{})}
		st, e := danaOrCarol(t, ph, nil)
		id := openIncident(t, st, danaPolicy(0), time.Now())
		e.Wake()
		synctest.Wait()
		require.EqualValues(t, 1, ph.dana.Load())
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.Len(t, inc.Pending, 1)
		n := inc.Pending[0].ID

		time.Sleep(3 * time.Second)
		require.NoError(t, e.Delivery(t.Context(), id, n, false, "no-answer"))
		time.Sleep(2 * time.Second)
		require.NoError(t, e.Delivery(t.Context(), id, n, true, "completed"))
		time.Sleep(5 * time.Second)
		close(ph.release)

		time.Sleep(20 * time.Minute)
		synctest.Wait()
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		text := strings.Join(timelineText(timeline), "\n")
		require.EqualValues(t, 1, ph.dana.Load(), "dana answered her call: %s", text)
		require.Zero(t, count(timeline, klaxon.EventFallback), "dana answered her call: %s", text)
		inc, err = st.Incident(t.Context(), id)
		require.NoError(t, err)
		require.True(t, inc.Escalation.Reached, text)
	})
}
