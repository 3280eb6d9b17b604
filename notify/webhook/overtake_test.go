package webhook

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestPauseTimesNotOvertaken: the pages that come during a pause are
// given times a second apart from its end, "so that the pages that
// waited do not all come back at once into the next 429" (README). But
// past the pause's end a page goes as it comes, ahead of the times
// given: a new page (or one the engine tries again at its 2-minute cap)
// is posted while pages that came before it wait their turn, up to a
// second each behind the pause. So the spacing paces nothing at the
// receiver, and delays only the pages that happened to come during the
// pause: here the last of 20 pages that came during a pause of 10 s
// waits 20 s past it while a later page goes at once. End to end, a
// storm of 300 incidents paging a receiver that answered its first post
// 429 with Retry-After: 1 and took every other had its last page out
// 64 s after the storm.
func TestPauseTimesNotOvertaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &receiver{answers: []answer{{status: 429, header: map[string]string{"Retry-After": "10"}}, {status: 200}}}
		w, err := New(Options{URL: "https://hooks.example.com/klaxon", HTTPClient: &http.Client{Transport: inProcess{http.HandlerFunc(r.serve)}}})
		require.NoError(t, err)
		pageOf := func(incident string) klaxon.Page {
			p := page
			p.Incident = incident
			return p
		}
		start := time.Now()
		require.Equal(t, 10*time.Second, klaxon.WaitOf(w.Send(t.Context(), pageOf("1"))))
		time.Sleep(time.Second)
		var last time.Time // the latest time given to a page that waited
		for i := 2; i <= 21; i++ {
			var later *klaxon.DeferredError
			require.ErrorAs(t, w.Send(t.Context(), pageOf(strconv.Itoa(i))), &later)
			last = later.Until
		}

		time.Sleep(time.Until(start.Add(12 * time.Second))) // past the pause
		err = w.Send(t.Context(), pageOf("22"))
		if err == nil {
			require.False(t, last.After(time.Now()), "page 22 was posted at %s, while a page that came before it waits until %s",
				time.Since(start), last.Sub(start))
		}
	})
}

// TestPauseUpdateTakesNoTimeItCannotKeep: a status update comes again
// within its try only (30 s, notify.Updates): one given a time past its
// deadline would not come, and would keep a page waiting behind it for
// nothing. It is told the time free, which it does not take.
func TestPauseUpdateTakesNoTimeItCannotKeep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &receiver{answers: []answer{{status: 429, header: map[string]string{"Retry-After": "10"}}, {status: 200}}}
		w, err := New(Options{URL: "https://hooks.example.com/klaxon", HTTPClient: &http.Client{Transport: inProcess{http.HandlerFunc(r.serve)}}})
		require.NoError(t, err)
		start := time.Now()
		require.Equal(t, 10*time.Second, klaxon.WaitOf(w.Send(t.Context(), page)))

		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		update := page
		update.Update = "opened"
		var later *klaxon.DeferredError
		require.ErrorAs(t, w.Send(ctx, update), &later)
		require.Equal(t, start.Add(11*time.Second), later.Until, "the time free")

		second := page
		second.Incident = "43"
		require.ErrorAs(t, w.Send(t.Context(), second), &later)
		require.Equal(t, start.Add(11*time.Second), later.Until, "the time the update did not take")
	})
}
