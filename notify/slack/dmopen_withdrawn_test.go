package slack_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/slacktest"
	"github.com/klaxonhq/klaxon/notify/slack"
)

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
