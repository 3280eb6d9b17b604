package slack_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/slacktest"
	"github.com/klaxonhq/klaxon/notify/slack"
)

// TestDMWithdrawnTimesWhileDraining: a storm's 1,000 pages to alice
// wait their seconds after Slack's 429; then half of the storm's
// incidents (one service's) are acknowledged, so every other page never
// comes. The others come at their times, one every two seconds: the
// DM is draining, but every other second passes unused. A page of a
// new incident must take one of the seconds the acknowledged pages gave
// up, within a few seconds, not wait behind the whole storm: the DM's
// queue is never idle for the 2 s that make it ask whether the pages
// holding its times are still wanted.
func TestDMWithdrawnTimesWhileDraining(t *testing.T) {
	const storm = 1000
	fake := slacktest.Start(t)
	fake.AddUser("U0ALICE", "alice")
	c := fakeclock.New(t0)
	sl := newSlack(t, fake, c, func(o *slack.Options) {
		o.Wanted = func(_ context.Context, p klaxon.PageRef) bool {
			n, err := strconv.Atoi(p.Incident)
			require.NoError(t, err)
			return n%2 == 0 || n >= 5000 // the storm's odd incidents are acknowledged
		}
	})
	require.NoError(t, sl.Send(t.Context(), dmPage(1)))
	fake.RateLimit(1, 30*time.Second)
	var later *klaxon.DeferredError
	for i := 2; i <= storm+1; i++ {
		require.ErrorAs(t, sl.Send(t.Context(), dmPage(i)), &later)
	}
	timeOf := func(i int) time.Time { return t0.Add(30*time.Second + time.Duration(i-2)*time.Second) }

	// The pages still wanted come at their times, as the engine sends
	// them; the acknowledged ones do not.
	for i := 2; i <= 100; i += 2 {
		c.Set(timeOf(i))
		require.NoError(t, sl.Send(t.Context(), dmPage(i)))
	}
	// A new incident pages her a second after the last page went.
	c.Add(time.Second)
	err := sl.Send(t.Context(), dmPage(5000))
	if err != nil {
		require.ErrorAs(t, err, &later)
		require.LessOrEqual(t, later.Until.Sub(c.Now()), 5*time.Second,
			"a new incident's page waits %s behind a storm half acknowledged", later.Until.Sub(c.Now()))
	}
}
