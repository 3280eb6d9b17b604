package slack_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/slacktest"
	"github.com/klaxonhq/klaxon/notify/slack"
)

// TestDMAsksWantedOnceIdle: a storm's pages to alice wait their seconds
// after Slack's 429. While they come at their times, a new page takes
// the next second free without asking whether any is still wanted.
// Once none has come for a few seconds, the next new page asks
// (Options.Wanted), once for every page holding a time: the pages of
// incidents acknowledged give theirs up, and it takes the first of
// those; the pages still wanted keep theirs; a thousand more new pages
// that second ask nothing again.
func TestDMAsksWantedOnceIdle(t *testing.T) {
	const storm = 1000
	fake := slacktest.Start(t)
	fake.AddUser("U0ALICE", "alice")
	c := fakeclock.New(t0)
	var asked atomic.Int64
	sl := newSlack(t, fake, c, func(o *slack.Options) {
		o.Wanted = func(_ context.Context, p klaxon.PageRef) bool {
			asked.Add(1)
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
	require.Equal(t, timeOf(storm+1), later.Until)

	// Draining: the pages come at their times; a new page waits behind
	// them, and nobody is asked.
	for i := 2; i <= 3; i++ {
		c.Set(timeOf(i))
		require.NoError(t, sl.Send(t.Context(), dmPage(i)))
	}
	c.Add(500 * time.Millisecond)
	require.ErrorAs(t, sl.Send(t.Context(), dmPage(5000)), &later)
	require.Equal(t, timeOf(storm+2), later.Until)
	require.Zero(t, asked.Load(), "a draining DM asks nothing")

	// Idle: nothing came since page 3. A new page asks about every page
	// holding a time, the storm's left and page 5000, once.
	c.Set(timeOf(32))
	require.ErrorAs(t, sl.Send(t.Context(), dmPage(5001)), &later)
	require.Equal(t, int64(storm-2+1), asked.Load())
	require.Equal(t, timeOf(33), later.Until, "the first second an acknowledged incident's page gave up")
	require.ErrorAs(t, sl.Send(t.Context(), dmPage(34)), &later, "a page still wanted, early")
	require.Equal(t, timeOf(34), later.Until, "keeps its time")
	var got []time.Time
	for i := 5002; i < 5002+storm; i++ {
		require.ErrorAs(t, sl.Send(t.Context(), dmPage(i)), &later)
		got = append(got, later.Until)
	}
	require.Equal(t, int64(storm-2+1), asked.Load(), "asked once, not once a new page")
	gaveUp := (storm+1-35)/2 + 1 // the odd pages' seconds from 35 on
	require.Equal(t, timeOf(35), got[0])
	require.Equal(t, timeOf(storm+1), got[gaveUp-1], "the new pages take the seconds given up")
	require.Equal(t, timeOf(storm+3), got[gaveUp], "then the ones after page 5000's")
	require.Equal(t, timeOf(storm+2+storm-gaveUp), got[storm-1])
	c.Set(timeOf(33))
	require.NoError(t, sl.Send(t.Context(), dmPage(5001)))
}
