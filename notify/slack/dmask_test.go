package slack_test

import (
	"context"
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
	"github.com/klaxonhq/klaxon/notify/slack"
)

// TestDMAskBoundedInTime: a storm's 1,000 pages to alice wait their
// seconds after Slack's 429, and are then all acknowledged. A minute
// later two new incidents page her at once, while the store is slow
// (each read takes 20 ms, as Redis may in a storm): one page asks
// whether the pages holding her DM's seconds are still wanted, the
// other waits for its answer. Reading the 1,000 one after another
// would take 20 s, beyond a page's 5 s: neither page may fail for
// waiting on it. The ask reads a few at once and gives up after a fifth
// of the timeout, keeping the seconds of the pages not asked about.
func TestDMAskBoundedInTime(t *testing.T) {
	const storm = 1000
	fake := slacktest.Start(t)
	fake.AddUser("U0ALICE", "alice")
	synctest.Test(t, func(t *testing.T) {
		var asked atomic.Int64
		sl := newSlack(t, fake, fakeclock.New(t0), func(o *slack.Options) {
			o.Now, o.HTTPClient = time.Now, fake.Client()
			o.Wanted = func(ctx context.Context, p klaxon.PageRef) bool {
				asked.Add(1)
				select {
				case <-time.After(20 * time.Millisecond):
				case <-ctx.Done():
				}
				n, err := strconv.Atoi(p.Incident)
				return err != nil || n >= 5000
			}
		})
		later := deferredStorm(t, sl, fake, storm)

		time.Sleep(time.Minute)
		start := time.Now()
		errs := make(chan error, 2)
		took := make(chan time.Duration, 2)
		for i := 5000; i <= 5001; i++ {
			go func() {
				errs <- sl.Send(t.Context(), dmPage(i))
				took <- time.Since(start)
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				require.ErrorAs(t, err, &later, "a page waiting on the ask fails")
			}
			require.LessOrEqual(t, <-took, slack.DefaultTimeout/5+time.Millisecond, "a page waits on the ask")
		}
		require.Less(t, asked.Load(), int64(storm), "the ask reads until its time is up, not all")
		require.Greater(t, asked.Load(), int64(100), "the ask reads several at once")
	})
}

// TestDMOpenKeptForAPageWanted: alice's DM is not open; two pages to
// her come together, the first opens it, and the second waits for that
// open, which Slack answers 429 for 30 s: both wait for her second.
// Ten people are paged by the storm behind her. The storm is then
// acknowledged, but not the incident of her second page: asked whether
// the pages waiting for the opens are still wanted, the ten people's
// seconds are given up, hers is kept, and her page goes when it comes,
// a new incident's page to erin taking a second the storm gave up.
func TestDMOpenKeptForAPageWanted(t *testing.T) {
	fake := slacktest.Start(t)
	fake.AddUser("U0ALICE", "alice")
	fake.AddUser("U0ERIN", "erin")
	fake.RateLimit(1, 30*time.Second)
	synctest.Test(t, func(t *testing.T) {
		hold := holdOpens{next: fake.Client().Transport, release: make(chan struct{})}
		var mu sync.Mutex
		var asked []string
		sl := newSlack(t, fake, fakeclock.New(t0), func(o *slack.Options) {
			o.Now, o.HTTPClient = time.Now, &http.Client{Transport: hold}
			o.SlackID = func(user string) (string, bool) { return "U0" + strings.ToUpper(user), true }
			o.Wanted = func(_ context.Context, p klaxon.PageRef) bool {
				mu.Lock()
				defer mu.Unlock()
				asked = append(asked, p.Incident)
				return p.Incident != "storm"
			}
		})
		page := func(incident string, n int, user string) klaxon.Page {
			return klaxon.Page{Incident: incident, Notification: n, User: klaxon.User{ID: user}, Via: slack.Via, Summary: incident, Alerts: 1}
		}
		start := time.Now()
		errs := make(chan error, 2)
		go func() { errs <- sl.Send(t.Context(), page("storm", 1, "alice")) }()
		synctest.Wait() // it opens her DM; Slack is slow to answer
		go func() { errs <- sl.Send(t.Context(), page("kept", 1, "alice")) }()
		synctest.Wait() // it waits for that open
		close(hold.release)
		var later *klaxon.DeferredError
		for range 2 {
			require.ErrorAs(t, <-errs, &later)
			require.Equal(t, start.Add(30*time.Second), later.Until, "her second")
		}
		for i := range 10 {
			require.ErrorAs(t, sl.Send(t.Context(), page("storm", i+2, "user"+strconv.Itoa(i))), &later)
		}
		require.Equal(t, start.Add(40*time.Second), later.Until, "the tenth person's second")

		time.Sleep(33 * time.Second) // her second passed, unused
		require.NoError(t, sl.Send(t.Context(), page("new", 1, "erin")), "a second the storm gave up")
		mu.Lock()
		require.Contains(t, asked, "kept", "the page waiting for another's open is asked about")
		mu.Unlock()
		require.NoError(t, sl.Send(t.Context(), page("kept", 1, "alice")), "her page goes for her second, which it kept")
		require.Len(t, fake.Messages(), 2)
	})
}
