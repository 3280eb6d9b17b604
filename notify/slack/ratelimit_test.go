package slack_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/slacktest"
	"github.com/klaxonhq/klaxon/notify"
	"github.com/klaxonhq/klaxon/notify/slack"
)

// dmPage is page n of incident id to alice by Slack.
func dmPage(id int) klaxon.Page {
	return klaxon.Page{Incident: strconv.Itoa(id), Notification: 1, User: klaxon.User{ID: "alice"}, Via: slack.Via,
		Summary: "storm " + strconv.Itoa(id), Alerts: 1}
}

// deferredStorm sends alice's DM page 1, then has Slack throttle her DM
// for 30 s, and sends the pages of incidents 2 to storm+1, each deferred
// to a second of its own; it returns the last one's deferral.
func deferredStorm(t *testing.T, sl *slack.Slack, fake *slacktest.Server, storm int) *klaxon.DeferredError {
	t.Helper()
	require.NoError(t, sl.Send(t.Context(), dmPage(1)))
	fake.RateLimit(1, 30*time.Second)
	var later *klaxon.DeferredError
	for i := 2; i <= storm+1; i++ {
		require.ErrorAs(t, sl.Send(t.Context(), dmPage(i)), &later)
	}
	return later
}

// limited counts the calls the fake answered 429.
func limited(fake *slacktest.Server) int {
	n := 0
	for _, c := range fake.Calls() {
		if c.Status == http.StatusTooManyRequests {
			n++
		}
	}
	return n
}

// calls counts the fake's calls of method.
func calls(fake *slacktest.Server, method string) int {
	n := 0
	for _, c := range fake.Calls() {
		if c.Method == method {
			n++
		}
	}
	return n
}

// TestDMPausedByRetryAfter: a 429 to a page by direct message pauses
// that person's DMs until its Retry-After. The page it refused is
// deferred to the pause's end, not failed; a page that comes during the
// pause is deferred to a time of its own a second later, without
// calling Slack, even when it comes again early; each goes out at its
// time. The DM is opened once, and opened again once it is gone.
func TestDMPausedByRetryAfter(t *testing.T) {
	fake := slacktest.Start(t)
	fake.AddUser("U0ALICE", "alice")
	c := fakeclock.New(t0)
	sl := newSlack(t, fake, c)

	require.NoError(t, sl.Send(t.Context(), dmPage(1)))
	fake.RateLimit(1, 30*time.Second)
	var later *klaxon.DeferredError
	require.ErrorAs(t, sl.Send(t.Context(), dmPage(2)), &later, "Slack's 429 defers the page")
	require.Equal(t, t0.Add(30*time.Second), later.Until)
	before := len(fake.Calls())

	c.Add(time.Second)
	require.ErrorAs(t, sl.Send(t.Context(), dmPage(3)), &later)
	require.Equal(t, t0.Add(31*time.Second), later.Until, "after the page that waits already")
	c.Set(t0.Add(30 * time.Second))
	require.ErrorAs(t, sl.Send(t.Context(), dmPage(3)), &later, "early: it keeps its time")
	require.Equal(t, t0.Add(31*time.Second), later.Until)
	require.Len(t, fake.Calls(), before, "no call to Slack during the pause")

	require.NoError(t, sl.Send(t.Context(), dmPage(2)))
	c.Set(t0.Add(31 * time.Second))
	require.NoError(t, sl.Send(t.Context(), dmPage(3)))
	require.Equal(t, 1, calls(fake, "conversations.open"), "the DM is opened once")

	c.Add(time.Minute) // the pause and the pages that waited are over
	fake.CloseDM("U0ALICE")
	require.NoError(t, sl.Send(t.Context(), dmPage(4)), "a DM gone is opened again")
	var in []string
	for _, m := range fake.Messages() {
		in = append(in, m.Channel)
	}
	dm := fake.DM("U0ALICE")
	require.Equal(t, []string{"D00000001", "D00000001", "D00000001", dm}, in)
	require.NotEqual(t, "D00000001", dm)

	// conversations.open is limited per workspace: its 429 defers the
	// opens still to make, one time a person, which all their pages
	// wait for: alice's two pages her time, bob's the next.
	fake.AddUser("U0BOB", "bob")
	other := newSlack(t, fake, c, func(o *slack.Options) {
		o.SlackID = func(user string) (string, bool) { return "U0" + strings.ToUpper(user), true }
	})
	bob := dmPage(7)
	bob.User.ID = "bob"
	fake.RateLimit(1, 2*time.Minute)
	paused := c.Now()
	require.ErrorAs(t, other.Send(t.Context(), dmPage(5)), &later)
	require.Equal(t, paused.Add(2*time.Minute), later.Until)
	require.ErrorAs(t, other.Send(t.Context(), dmPage(6)), &later)
	require.Equal(t, paused.Add(2*time.Minute), later.Until, "alice's pages wait for one open")
	require.ErrorAs(t, other.Send(t.Context(), bob), &later)
	require.Equal(t, paused.Add(2*time.Minute+time.Second), later.Until, "bob's open is the next")
	opens := calls(fake, "conversations.open")
	c.Set(paused.Add(2 * time.Minute))
	require.NoError(t, other.Send(t.Context(), dmPage(5)))
	require.NoError(t, other.Send(t.Context(), dmPage(6)))
	c.Add(time.Second)
	require.NoError(t, other.Send(t.Context(), bob))
	require.Equal(t, opens+2, calls(fake, "conversations.open"), "a DM opened once")
}

// dmStorm is the pages to one person in TestDMStorm.
const dmStorm = 1000

// TestDMStorm: a storm of dmStorm pages to alice by direct message, sent
// as the escalation engine sends them (notify.concurrency at once; a
// deferred page again at its time; a failed try again after the
// engine's backoff, or the Retry-After when longer), while Slack takes
// one message a second in her DM after a burst of 3, and
// conversations.open at Tier 3. Each page reaches her once, at Slack's
// pace; none fails a try; Slack answers 429 only to the pages in flight
// when it first throttled; her DM is opened once.
func TestDMStorm(t *testing.T) {
	const slots = 32 // config.DefaultConcurrency
	fake := slacktest.Start(t)
	fake.AddUser("U0ALICE", "alice")
	fake.ChannelLimit("chat.postMessage", time.Second, 3)
	fake.MethodLimit("conversations.open", 1200*time.Millisecond, 50)
	synctest.Test(t, func(t *testing.T) {
		sl := newSlack(t, fake, fakeclock.New(t0), func(o *slack.Options) { o.Now, o.HTTPClient = time.Now, fake.Client() })
		start := time.Now()
		var failed atomic.Int64
		free := make(chan struct{}, slots)
		var wg sync.WaitGroup
		for i := 1; i <= dmStorm; i++ {
			wg.Go(func() {
				p := dmPage(i)
				for try := 1; ; {
					free <- struct{}{}
					err := sl.Send(t.Context(), p)
					<-free
					var later *klaxon.DeferredError
					switch {
					case err == nil:
						return
					case errors.As(err, &later):
						time.Sleep(time.Until(later.Until))
					case notify.Retryable(err):
						failed.Add(1)
						backoff := min(10*time.Second<<(try-1), 2*time.Minute)
						time.Sleep(max(backoff, klaxon.WaitOf(err)))
						try++
					default:
						t.Errorf("page %s failed for good: %v", p.Incident, err)
						return
					}
				}
			})
		}
		wg.Wait()
		took := time.Since(start)

		seen := map[string]int{}
		for _, m := range fake.Messages() {
			seen[m.Text]++
		}
		require.Len(t, seen, dmStorm, "every page reached alice")
		for text, n := range seen {
			require.Equal(t, 1, n, "%q reached her %d times", text, n)
		}
		require.Zero(t, failed.Load(), "tries failed (each a timeline event, and a page put off by the backoff)")
		require.LessOrEqual(t, limited(fake), slots, "Slack's 429s")
		require.Equal(t, 1, calls(fake, "conversations.open"), "the DM is opened once, the pages in flight waiting for it")
		require.LessOrEqual(t, took, (dmStorm+slots)*time.Second, "at Slack's pace")
		t.Logf("%d pages in %s: %d calls, %d answered 429", dmStorm, took, len(fake.Calls()), limited(fake))
	})
}

// TestPauseKeyedByChannelID: a 429 pauses the channel itself, however a
// policy spells it: "#ops", "ops" and its ID are one channel, whose
// changes wait out one Retry-After together, rather than calling the
// throttled channel again by its other names; another channel's change
// does not wait.
func TestPauseKeyedByChannelID(t *testing.T) {
	fake := slacktest.Start(t)
	fake.AddChannel("C0OPS", "ops")
	fake.AddChannel("C0DB", "db")
	fake.ChannelLimit("chat.postMessage", 30*time.Second, 1)
	synctest.Test(t, func(t *testing.T) {
		sl := newSlack(t, fake, fakeclock.New(t0), func(o *slack.Options) { o.Now, o.HTTPClient = time.Now, fake.Client() })
		st := newStored()
		y, stop := startSync(sl, st)
		defer stop()
		commit := func(id int, ch string) {
			inc := stormIncident(id, ch, klaxon.StateTriggered)
			st.put(inc)
			// An alert joined: no reply in the thread, a post each.
			y.Committed(changeIn(inc, ch, klaxon.Event{At: t0, Kind: klaxon.EventAlertJoined, Alert: "am/" + inc.ID}))
		}
		commit(1, "#ops") // Slack answers C0OPS, and takes no other post there for 30 s
		synctest.Wait()
		commit(2, "#ops") // 429, Retry-After 30
		synctest.Wait()
		require.Equal(t, 1, limited(fake))
		committed := time.Now()
		commit(3, "C0OPS")
		commit(4, "ops")
		commit(5, "#db")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.Equal(t, 1, limited(fake), "the paused channel was called again by another name")
		db := st.chat("5")
		require.NotNil(t, db, "another channel's message waited")
		require.Equal(t, committed, fake.PostedAt(db.Channel, db.TS))

		time.Sleep(time.Hour)
		synctest.Wait()
		msgs := topLevel(fake)
		for i := 1; i <= 5; i++ {
			require.Len(t, msgs[strconv.Itoa(i)], 1, "incident %d", i)
		}
	})
}
