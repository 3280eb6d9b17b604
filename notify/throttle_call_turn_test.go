package notify_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestThrottleCallEndedKeepsTurns: the calls held while their person was
// on another go, once it ended, the first incident first: a later
// incident's call that comes between the end and the held calls' next
// step gives the window to them, as it would to calls that waited for
// the limit.
func TestThrottleCallEndedKeepsTurns(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	now := t0
	out := &sink{}
	th := callLimit(out, &now)
	require.NoError(t, th.Notify(t.Context(), aliceCall("1")))

	now = t0.Add(time.Minute) // the limit is up, the call is not
	var d *klaxon.DeferredError
	require.ErrorAs(t, th.Notify(t.Context(), aliceCall("2")), &d, "alice is on 1's call")
	require.Equal(t, t0.Add(75*time.Second), d.Until)

	now = t0.Add(70 * time.Second)
	th.Ended(klaxon.PageRef{Incident: "1", Notification: 1})
	now = now.Add(time.Second) // before 2's call comes again
	require.ErrorAs(t, th.Notify(t.Context(), aliceCall("3")), &d, "3's call waits for 2's, held first")

	now = t0.Add(75 * time.Second)
	require.NoError(t, th.Notify(t.Context(), aliceCall("2")))
	require.Equal(t, "2", out.pages[len(out.pages)-1].Incident, "2's call went before 3's")
}
