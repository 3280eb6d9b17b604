package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// TestThrottledReceiverPausesTheURL: a receiver's 429 with Retry-After
// throttles its URL, not one page: a Slack incoming webhook allows about
// one message a second per webhook, and answers 429 rate_limited with a
// retry-after for the webhook. Were it waited out for the page that got
// it only, every other page to the same URL would be sent at once: in a
// storm the pages that got a 429 all came back together when it ended
// (300 in one second, every 30 s), and at Slack's pace 120 pages took
// over 1,500 posts while 43 went out in eight minutes. A page due while
// the URL is throttled does not reach it, and goes once the wait is over.
func TestThrottledReceiverPausesTheURL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &receiver{answers: []answer{
			{status: http.StatusTooManyRequests, body: "rate_limited", header: map[string]string{"retry-after": "30"}},
			{status: http.StatusOK, body: "ok"},
		}}
		w, err := New(Options{URL: "https://hooks.slack.com/services/T0/B0/XXXX", Format: FormatSlack,
			HTTPClient: &http.Client{Transport: inProcess{http.HandlerFunc(r.serve)}}})
		require.NoError(t, err)

		first := page
		err = w.Send(t.Context(), first)
		require.Equal(t, 30*time.Second, klaxon.WaitOf(err), "the 429's Retry-After")

		time.Sleep(time.Second)
		second := page
		second.Incident, second.Notification = "43", 1
		err = w.Send(t.Context(), second)
		require.Equal(t, 1, len(r.requests()), "a page reached the receiver within its Retry-After")
		require.Error(t, err, "not sent while the URL is throttled")

		time.Sleep(30 * time.Second)
		require.NoError(t, w.Send(t.Context(), second), "sent once the wait is over")
		require.Equal(t, 2, len(r.requests()))
	})
}

// TestPauseTimes: each page that comes during a pause is given a time of
// its own, a second apart from the pause's end (the page refused takes
// the first), and is posted then; a test page, which does not come
// again, waits for the pause's end and takes no time. A new page that
// comes before the last time given queues behind it; past the times, a
// page goes at once. A 503's Retry-After pauses the URL too, and an hour
// asked for pauses it for two minutes.
func TestPauseTimes(t *testing.T) {
	deferredUntil := func(t *testing.T, err error) time.Time {
		t.Helper()
		var later *klaxon.DeferredError
		require.ErrorAs(t, err, &later)
		return later.Until
	}
	pageOf := func(incident string) klaxon.Page {
		p := page
		p.Incident = incident
		return p
	}
	t.Run("429", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := &receiver{answers: []answer{{status: 429, header: map[string]string{"Retry-After": "30"}}, {status: 200}}}
			w, err := New(Options{URL: "https://hooks.example.com/klaxon", HTTPClient: &http.Client{Transport: inProcess{http.HandlerFunc(r.serve)}}})
			require.NoError(t, err)
			start := time.Now()

			require.Equal(t, 30*time.Second, klaxon.WaitOf(w.Send(t.Context(), pageOf("1"))))
			time.Sleep(time.Second)
			require.Equal(t, start.Add(31*time.Second), deferredUntil(t, w.Send(t.Context(), pageOf("2"))))
			test := klaxon.Page{User: page.User, Via: klaxon.ViaWebhook, Summary: "Klaxon test page", Test: true}
			require.Equal(t, start.Add(30*time.Second), deferredUntil(t, w.Send(t.Context(), test)), "a test page takes no time")
			require.Equal(t, start.Add(32*time.Second), deferredUntil(t, w.Send(t.Context(), pageOf("3"))))
			require.Len(t, r.requests(), 1, "posts during the pause")

			for i, incident := range []string{"1", "2", "3"} {
				time.Sleep(time.Until(start.Add(time.Duration(30+i) * time.Second)))
				require.NoError(t, w.Send(t.Context(), pageOf(incident)), "at its time")
			}
			require.Equal(t, start.Add(33*time.Second), deferredUntil(t, w.Send(t.Context(), pageOf("4"))), "behind the times given")
			time.Sleep(time.Until(start.Add(33 * time.Second)))
			require.NoError(t, w.Send(t.Context(), pageOf("4")), "at its time")
			time.Sleep(time.Second)
			require.NoError(t, w.Send(t.Context(), pageOf("5")), "after the times given")
			require.NoError(t, w.Send(t.Context(), pageOf("6")), "after the times given")
			require.Len(t, r.requests(), 7)
		})
	})
	t.Run("503 asking for an hour", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := &receiver{answers: []answer{{status: 503, header: map[string]string{"Retry-After": "3600"}}, {status: 200}}}
			w, err := New(Options{URL: "https://hooks.example.com/klaxon", HTTPClient: &http.Client{Transport: inProcess{http.HandlerFunc(r.serve)}}})
			require.NoError(t, err)
			start := time.Now()

			err = w.Send(t.Context(), pageOf("1"))
			require.Equal(t, 2*time.Minute, klaxon.WaitOf(err), "up to maxPause")
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, time.Hour, e.RetryAfter, "as asked")
			time.Sleep(time.Minute)
			require.Equal(t, start.Add(2*time.Minute+time.Second), deferredUntil(t, w.Send(t.Context(), pageOf("2"))))
			time.Sleep(time.Minute)
			require.NoError(t, w.Send(t.Context(), pageOf("1")))
			require.Len(t, r.requests(), 2)
		})
	})
}

// TestThrottledStormAtReceiversPace: 120 pages at once to a receiver that
// takes one a second and refuses the others 429 with a Retry-After of
// 30 s, sent as the engine sends them: 32 at a time (notify.concurrency),
// each again at the time it was deferred to, or after a failed try no
// sooner than its wait (up to 2 minutes) and the engine's backoff (10 s
// doubling). Without the pause, this storm took 7,260 posts, up to 120 in
// one second, and four hours. With it, only the posts in flight as the
// receiver began to refuse are refused, once each, and every page is
// taken at the receiver's pace from the end of the Retry-After.
func TestThrottledStormAtReceiversPace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const pages, perChannel, latency = 120, 32, 200 * time.Millisecond
		var mu sync.Mutex
		var last time.Time                   // when the receiver last took a page
		perSecond := map[time.Duration]int{} // posts in each second from the start
		start := time.Now()
		paced := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			mu.Lock()
			now := time.Now()
			perSecond[now.Sub(start).Truncate(time.Second)]++
			took := last.IsZero() || now.Sub(last) >= time.Second
			if took {
				last = now
			}
			mu.Unlock()
			time.Sleep(latency) // the answer's way back: other pages are posted meanwhile
			if took {
				_, _ = w.Write([]byte("ok"))
				return
			}
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte("rate_limited"))
		})
		w, err := New(Options{URL: "https://hooks.slack.com/services/T0/B0/XXXX", Format: FormatSlack,
			HTTPClient: &http.Client{Transport: inProcess{paced}}})
		require.NoError(t, err)

		slots := make(chan struct{}, perChannel)
		errs := make(chan error, pages)
		var wg sync.WaitGroup
		for i := range pages {
			p := page
			p.Incident = strconv.Itoa(i + 1)
			wg.Go(func() {
				backoff, refused := 10*time.Second, 0
				for {
					slots <- struct{}{}
					err := w.Send(t.Context(), p)
					<-slots
					var later *klaxon.DeferredError
					switch {
					case err == nil:
						return
					case errors.As(err, &later):
						time.Sleep(time.Until(later.Until))
					case !notify.Retryable(err):
						errs <- err
						return
					case refused > 0:
						errs <- fmt.Errorf("page %s refused again: %w", p.Incident, err)
						return
					default:
						refused++
						time.Sleep(max(backoff, min(klaxon.WaitOf(err), 2*time.Minute)))
						backoff = min(2*backoff, 2*time.Minute)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}

		posts, busiest := 0, 0
		for at, n := range perSecond {
			posts += n
			if at > 0 {
				busiest = max(busiest, n)
			}
		}
		// Each page taken once, and refused: 31 of the first 32 posts,
		// and at most one more, posted in the first second as the page
		// taken freed its slot, if that came before the first refusal
		// was in (the answers arrive together; their order is the
		// scheduler's). After that, the receiver's pace.
		require.LessOrEqual(t, posts, pages+perChannel, "posts")
		require.LessOrEqual(t, perSecond[0], perChannel+1, "posts in the first second")
		require.LessOrEqual(t, busiest, 1, "posts in the busiest second after the first")
		require.LessOrEqual(t, last.Sub(start), latency+30*time.Second+pages*spacing, "the last page taken")
	})
}
