package notify

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

type nopNotifier struct{}

func (nopNotifier) Notify(context.Context, klaxon.Page) error { return nil }

// TestThrottleDueInStepWithWaiting: every minute alice gets a page and
// another is put off to the next minute, when it goes out in a bundle.
// The time each waiting page is due is forgotten with it: a person's
// window keeps no entry for each page that ever waited.
func TestThrottleDueInStepWithWaiting(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	now := t0
	th := NewThrottle(nopNotifier{}, ThrottleOptions{
		Limits:  map[string]time.Duration{klaxon.ViaSMS: time.Minute},
		Bundles: map[string]bool{klaxon.ViaSMS: true},
		Now:     func() time.Time { return now },
	})
	page := func(id int) klaxon.Page {
		return klaxon.Page{Incident: strconv.Itoa(id), User: klaxon.User{ID: "alice"}, Via: klaxon.ViaSMS}
	}
	const minutes = 1000
	for i := range minutes {
		now = t0.Add(time.Duration(i) * time.Minute)
		require.NoError(t, th.Notify(t.Context(), page(2*i))) // takes the window, bundling the one put off
		if i > 0 {
			require.ErrorIs(t, th.Notify(t.Context(), page(2*i-1)), klaxon.ErrBundled)
		}
		var d *klaxon.DeferredError
		require.ErrorAs(t, th.Notify(t.Context(), page(2*i+1)), &d) // put off to the next minute
	}
	w := th.people[throttleKey{"alice", klaxon.ViaSMS}]
	require.LessOrEqual(t, len(w.due), len(w.waiting)+1, "due keeps %d entries for %d waiting pages", len(w.due), len(w.waiting))
}
