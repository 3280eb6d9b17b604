package slack_test

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/slacktest"
	"github.com/klaxonhq/klaxon/notify/slack"
)

// The storm: stormSize incidents open at once in one policy's channel,
// while Slack takes one chat.postMessage a second per channel (a burst
// of 5) and chat.update at Tier 3 (50 a minute).
const stormSize = 300

// limitLikeSlack gives fake Slack's rate limits.
func limitLikeSlack(fake *slacktest.Server) {
	fake.ChannelLimit("chat.postMessage", time.Second, 5)
	fake.MethodLimit("chat.update", 1200*time.Millisecond, 50)
}

// TestStormDrainsOnce: a storm of stormSize incidents in one channel,
// rate limited as Slack does, with a third acknowledged and a sixth
// resolved while the backlog drains: once it has, every incident has
// exactly one message, showing it as stored; the sync runs on one
// goroutine whatever the backlog.
func TestStormDrainsOnce(t *testing.T) {
	fake := slacktest.Start(t)
	limitLikeSlack(fake)
	synctest.Test(t, func(t *testing.T) {
		sl := newSlack(t, fake, fakeclock.New(t0), func(o *slack.Options) { o.Now, o.HTTPClient = time.Now, fake.Client() })
		st := newStored()
		for i := 1; i <= stormSize; i++ {
			st.put(stormIncident(i, channel, klaxon.StateTriggered))
		}
		before := runtime.NumGoroutine()
		y, stop := startSync(sl, st)
		defer stop()
		for i := 1; i <= stormSize; i++ {
			y.Committed(changeIn(stormIncident(i, channel, klaxon.StateTriggered), channel,
				klaxon.Event{At: t0, Kind: klaxon.EventTriggered, Alert: "am/" + strconv.Itoa(i)}))
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		require.LessOrEqual(t, runtime.NumGoroutine(), before+3, "one goroutine for the sync, whatever waits")
		posted := len(topLevel(fake))
		require.Less(t, posted, stormSize, "the backlog is still draining")

		// Acts during the backlog: on posted messages and on ones not yet
		// posted.
		for i := 1; i <= stormSize; i++ {
			var inc *klaxon.Incident
			var e klaxon.Event
			switch {
			case i%3 == 0:
				inc = stormIncident(i, channel, klaxon.StateAcknowledged)
				e = klaxon.Event{At: t0, Kind: klaxon.EventAcknowledged, By: "alice", How: "slack"}
			case i%6 == 1:
				inc = stormIncident(i, channel, klaxon.StateResolved)
				e = klaxon.Event{At: t0, Kind: klaxon.EventResolved, By: "bob", How: "sms"}
			default:
				continue
			}
			inc.Chat = st.chat(inc.ID)
			st.put(inc)
			y.Committed(changeIn(inc, channel, e))
		}
		time.Sleep(3 * time.Hour)
		synctest.Wait()

		msgs := topLevel(fake)
		for i := 1; i <= stormSize; i++ {
			id := strconv.Itoa(i)
			stored, err := st.Incident(t.Context(), id)
			require.NoError(t, err)
			if stored.State == klaxon.StateResolved && stored.Chat == nil {
				require.Empty(t, msgs[id], "resolved before it was posted: never posted")
				continue
			}
			require.Len(t, msgs[id], 1, "incident %s: one message", id)
			want, _ := slack.IncidentMessage(stored, stored.PagedUsers(), public)
			require.Equal(t, want, msgs[id][0].Text, "incident %s shows as stored", id)
			require.Equal(t, stored.Chat.TS, msgs[id][0].TS)
		}
		t.Logf("drained: %d messages, %d calls", len(fake.Messages()), len(fake.Calls()))
	})
}

// TestStormHoldsUpOtherChannel: a storm in one policy's channel does not
// hold up the message of an incident in another policy's channel, which
// Slack would take at once (its limit is per channel).
func TestStormHoldsUpOtherChannel(t *testing.T) {
	fake := slacktest.Start(t)
	limitLikeSlack(fake)
	const other = "C0DATABASE"
	synctest.Test(t, func(t *testing.T) {
		sl := newSlack(t, fake, fakeclock.New(t0), func(o *slack.Options) { o.Now, o.HTTPClient = time.Now, fake.Client() })
		st := newStored()
		y, stop := startSync(sl, st)
		defer stop()
		for i := 1; i <= stormSize; i++ {
			inc := stormIncident(i, channel, klaxon.StateTriggered)
			st.put(inc)
			y.Committed(changeIn(inc, channel, klaxon.Event{At: t0, Kind: klaxon.EventTriggered, Alert: "am/" + inc.ID}))
		}
		time.Sleep(10 * time.Second) // the storm's backlog builds
		db := stormIncident(stormSize+1, other, klaxon.StateTriggered)
		st.put(db)
		committed := time.Now()
		y.Committed(changeIn(db, other, klaxon.Event{At: t0, Kind: klaxon.EventTriggered, Alert: "am/db"}))

		time.Sleep(time.Hour)
		synctest.Wait()
		var at time.Time
		for _, m := range fake.Messages() {
			if m.Channel == other && m.ThreadTS == "" {
				at = fake.PostedAt(m.Channel, m.TS)
			}
		}
		require.False(t, at.IsZero(), "posted at all")
		require.LessOrEqual(t, at.Sub(committed), 10*time.Second,
			"%s's message waited %s behind the storm in %s", other, at.Sub(committed), channel)
	})
}

// stormIncident is incident id, triggered, in channel ch.
func stormIncident(id int, ch string, state klaxon.State) *klaxon.Incident {
	inc := incident(state)
	inc.ID = strconv.Itoa(id)
	inc.Summary = "storm " + inc.ID
	inc.Policy.SlackChannel = ch
	return inc
}

// changeIn is inc as a commit wrote it in channel ch, with events.
func changeIn(inc *klaxon.Incident, ch string, events ...klaxon.Event) []*klaxon.Incident {
	c := inc.Header()
	c.Policy.SlackChannel = ch
	c.Recorded = events
	return []*klaxon.Incident{c}
}

// topLevel counts the fake's messages of their own (not replies) by the
// incident ID their text starts with ("#42 ...").
func topLevel(fake *slacktest.Server) map[string][]slacktest.Message {
	out := map[string][]slacktest.Message{}
	for _, m := range fake.Messages() {
		if m.ThreadTS != "" {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(m.Text, "#"), " ")
		out[id] = append(out[id], m)
	}
	return out
}
