package slack_test

import (
	"context"
	"strconv"
	"strings"
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
	later := deferredStorm(t, sl, fake, storm)
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

	later := deferredStorm(t, sl, fake, storm)
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
	later := deferredStorm(t, sl, fake, storm)
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

// TestDMOpenTimesOfWithdrawnPages: the process has just started, so no
// DM is open, and a storm pages 100 people by Slack at once. Slack
// answers the first conversations.open 429 for 30 s: each person is
// given a second of their own to open their DM. Then the storm's
// incidents are acknowledged: none of those pages comes again. A
// minute later a new incident pages erin, whose DM is not open either.
// Her page must not wait out the seconds booked for opening the DMs of
// a hundred people whose pages will never be sent, as a page to an
// open DM does not (TestDMTimesOfWithdrawnPages).
func TestDMOpenTimesOfWithdrawnPages(t *testing.T) {
	const people = 100
	fake := slacktest.Start(t)
	fake.AddUser("U0ERIN", "erin")
	c := fakeclock.New(t0)
	sl := newSlack(t, fake, c, func(o *slack.Options) {
		o.SlackID = func(user string) (string, bool) { return "U0" + strings.ToUpper(user), true }
		o.Wanted = func(_ context.Context, p klaxon.PageRef) bool { return p.Incident == "new" }
	})
	fake.RateLimit(1, 30*time.Second)
	var later *klaxon.DeferredError
	for i := range people {
		p := klaxon.Page{Incident: "storm", Notification: i + 1, User: klaxon.User{ID: "user" + strconv.Itoa(i)}, Via: slack.Via, Summary: "storm", Alerts: 1}
		require.ErrorAs(t, sl.Send(t.Context(), p), &later)
	}
	require.Equal(t, t0.Add(30*time.Second+(people-1)*time.Second), later.Until, "the last person's open")

	// The storm is acknowledged; a minute later a new incident pages erin.
	c.Set(t0.Add(time.Minute))
	err := sl.Send(t.Context(), klaxon.Page{Incident: "new", Notification: 1, User: klaxon.User{ID: "erin"}, Via: slack.Via, Summary: "new", Alerts: 1})
	if err != nil {
		require.ErrorAs(t, err, &later)
		require.LessOrEqual(t, later.Until.Sub(c.Now()), 5*time.Second,
			"a new incident's page waits %s to open erin's DM, behind the opens of people whose pages were withdrawn", later.Until.Sub(c.Now()))
	}
}
