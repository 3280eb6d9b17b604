package slack_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/slacktest"
)

// TestDMTimesOfWithdrawnPages: a storm's pages to alice by DM are
// deferred by Slack's 429, each to a second of its own; then she
// acknowledges the storm's incidents, so none of those pages comes
// again. A page of a new incident, once Slack's pause is long over and
// nothing has gone to her DM since, goes out within a few seconds: it
// does not wait out the seconds booked for a thousand pages that will
// never be sent.
func TestDMTimesOfWithdrawnPages(t *testing.T) {
	const storm = 1000
	fake := slacktest.Start(t)
	fake.AddUser("U0ALICE", "alice")
	c := fakeclock.New(t0)
	sl := newSlack(t, fake, c)

	require.NoError(t, sl.Send(t.Context(), dmPage(1)))
	fake.RateLimit(1, 30*time.Second)
	var later *klaxon.DeferredError
	for i := 2; i <= storm+1; i++ {
		require.ErrorAs(t, sl.Send(t.Context(), dmPage(i)), &later)
	}
	require.Equal(t, t0.Add(30*time.Second+(storm-1)*time.Second), later.Until, "the storm's last page")

	// Every incident of the storm is acknowledged: their pages are
	// withdrawn, and never come again. A minute later a new incident
	// pages her.
	c.Set(t0.Add(time.Minute))
	err := sl.Send(t.Context(), dmPage(5000))
	if err != nil {
		require.ErrorAs(t, err, &later)
		require.LessOrEqual(t, later.Until.Sub(c.Now()), 5*time.Second,
			"a new incident's page waits %s behind the pages of acknowledged incidents, on a DM idle since Slack's pause ended",
			later.Until.Sub(c.Now()))
	}
}
