package escalate_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestMaybePlacedCallAckedOnItIsRecordedSent: a call whose placing
// failed (a timeout: the provider may have placed it) was placed all the
// same, and dana acknowledges the incident by a key on it, as a person
// who answers a page call does. The acknowledgement gives up the page's
// retry; the call's status callback then reports it completed. The
// report is of a page that reached dana: it goes on the timeline (sent,
// delivered), not dropped as a report of no page, which would leave the
// review saying the call was never sent though she acknowledged on it.
func TestMaybePlacedCallAckedOnItIsRecordedSent(t *testing.T) {
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
		n := inc.Pending[0].ID

		_, err = e.Act(t.Context(), klaxon.ActionAck, id, klaxon.Actor{By: "dana", How: "voice"})
		require.NoError(t, err)
		require.NoError(t, e.Delivery(t.Context(), id, n, true, "completed"), "the report is of dana's page")

		time.Sleep(20 * time.Minute)
		synctest.Wait()
		require.EqualValues(t, 1, ph.tries.Load())
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		var sent, delivered bool
		for _, ev := range timeline {
			sent = sent || ev.Kind == klaxon.EventPageSent && ev.Notification == n
			delivered = delivered || ev.Kind == klaxon.EventPageDelivered && ev.Notification == n
		}
		require.True(t, sent, "the call went out: %s", strings.Join(timelineText(timeline), "\n"))
		require.True(t, delivered, "the call was reported completed: %s", strings.Join(timelineText(timeline), "\n"))
	})
}
