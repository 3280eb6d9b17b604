package notify_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// TestThrottleOneCallAtATimeWithoutLimit: with the limit of calls off
// (notify.limits.voice: 0s), a person on a call still gets no other
// until it ended: a call placed over it would ring busy.
func TestThrottleOneCallAtATimeWithoutLimit(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	now := t0
	out := &sink{}
	th := notify.NewThrottle(out, notify.ThrottleOptions{
		Limits: map[string]time.Duration{klaxon.ViaVoice: 0},
		Calls:  map[string]bool{klaxon.ViaVoice: true},
		Now:    func() time.Time { return now },
	})
	require.NoError(t, th.Notify(t.Context(), aliceCall("1")))

	now = t0.Add(10 * time.Second)
	var d *klaxon.DeferredError
	require.ErrorAs(t, th.Notify(t.Context(), aliceCall("2")), &d, "alice is on 1's call")
	require.ErrorAs(t, th.Notify(t.Context(), aliceCall("3")), &d, "and 3's waits too")

	th.Ended(klaxon.PageRef{Incident: "1", Notification: 1})
	now = d.Until
	require.ErrorAs(t, th.Notify(t.Context(), aliceCall("3")), &d, "3's call gives the window to 2's")
	require.NoError(t, th.Notify(t.Context(), aliceCall("2")), "the call ended: the next goes")
	now = d.Until
	require.ErrorAs(t, th.Notify(t.Context(), aliceCall("3")), &d, "alice is on 2's call")
	require.Len(t, out.pages, 2)
}
