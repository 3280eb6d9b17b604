package slack_test

import (
	"errors"
	"net/http"
	"slices"
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

// TestDMOpenPausePacesOpens: a storm pages five people by DM, 100
// incidents each, with no DM opened yet (the process just started).
// Slack answers the first conversations.open 429 for 30 s, and takes
// every call after. Five DMs are to be opened: once each is, its
// person's pages need no conversations.open, so the pause of
// conversations.open holds back the opens, not the pages of DMs opened
// already. Each person has every page within 100 s of the pause's end
// (a second a page in their own DM at most), not one page a second
// across the whole workspace (the last after 530 s).
func TestDMOpenPausePacesOpens(t *testing.T) {
	people := []string{"alice", "bob", "carol", "dave", "erin"}
	const incidents = 100
	fake := slacktest.Start(t)
	for _, u := range people {
		fake.AddUser("U0"+strings.ToUpper(u), u)
	}
	c := fakeclock.New(t0)
	sl := newSlack(t, fake, c, func(o *slack.Options) {
		o.SlackID = func(user string) (string, bool) { return "U0" + strings.ToUpper(user), true }
	})
	type due struct {
		p  klaxon.Page
		at time.Time
	}
	var queue []due
	for i := 1; i <= incidents; i++ {
		for n, u := range people {
			queue = append(queue, due{klaxon.Page{Incident: strconv.Itoa(i), Notification: n + 1, User: klaxon.User{ID: u}, Via: slack.Via,
				Summary: "storm " + strconv.Itoa(i), Alerts: 1}, t0})
		}
	}
	fake.RateLimit(1, 30*time.Second)
	// As the engine does: each page when it is due, a deferred one again
	// at its time.
	var last time.Time
	for len(queue) > 0 {
		slices.SortStableFunc(queue, func(a, b due) int { return a.at.Compare(b.at) })
		d := queue[0]
		queue = queue[1:]
		if d.at.After(c.Now()) {
			c.Set(d.at)
		}
		err := sl.Send(t.Context(), d.p)
		var later *klaxon.DeferredError
		switch {
		case err == nil:
			last = c.Now()
		case errors.As(err, &later):
			queue = append(queue, due{d.p, later.Until})
		default:
			t.Fatalf("page %s to %s: %v", d.p.Incident, d.p.User.ID, err)
		}
	}
	require.Len(t, fake.Messages(), incidents*len(people))
	require.LessOrEqual(t, last.Sub(t0), 30*time.Second+incidents*time.Second,
		"the last page went out %s after the storm began: conversations.open's pause paced every page of the workspace", last.Sub(t0))
}

// holdOpens holds each conversations.open until release is closed.
type holdOpens struct {
	next    http.RoundTripper
	release chan struct{}
}

func (h holdOpens) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/conversations.open") {
		<-h.release
	}
	return h.next.RoundTrip(r)
}

// TestDMOpenedOnceInFlight: pages to alice come together while her DM
// is not open yet, and Slack is slow to answer conversations.open: one
// page opens it, the others wait for its answer rather than open it
// too. When Slack answers that open 429, every one of her pages waits
// for the same time, hers.
func TestDMOpenedOnceInFlight(t *testing.T) {
	const pages = 10
	for _, throttled := range []bool{false, true} {
		t.Run(map[bool]string{false: "opened", true: "throttled"}[throttled], func(t *testing.T) {
			fake := slacktest.Start(t)
			fake.AddUser("U0ALICE", "alice")
			if throttled {
				fake.RateLimit(1, 30*time.Second)
			}
			synctest.Test(t, func(t *testing.T) {
				hold := holdOpens{next: fake.Client().Transport, release: make(chan struct{})}
				sl := newSlack(t, fake, fakeclock.New(t0), func(o *slack.Options) {
					o.Now, o.HTTPClient = time.Now, &http.Client{Transport: hold}
				})
				start := time.Now()
				errs := make(chan error, pages)
				for i := 1; i <= pages; i++ {
					go func() { errs <- sl.Send(t.Context(), dmPage(i)) }()
				}
				synctest.Wait() // every page is in flight: one open at Slack, the others waiting
				close(hold.release)
				until := map[time.Time]int{}
				for range pages {
					err := <-errs
					var later *klaxon.DeferredError
					switch {
					case throttled:
						require.ErrorAs(t, err, &later)
						until[later.Until]++
					default:
						require.NoError(t, err)
					}
				}
				require.Equal(t, 1, calls(fake, "conversations.open"), "her DM is opened once")
				if throttled {
					require.Len(t, until, 1, "her pages wait for one open")
					for at := range until {
						require.True(t, at.Equal(start.Add(30*time.Second)), "at %s", at)
					}
				} else {
					require.Len(t, fake.Messages(), pages)
				}
			})
		})
	}
}
