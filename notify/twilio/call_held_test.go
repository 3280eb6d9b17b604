package twilio

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/twiliotest"
	"github.com/klaxonhq/klaxon/notify"
)

// callThrottle is the app's throttle of calls (a minute apart, one at a
// time, a call taken to last MaxCall at most) over tw's voice channel,
// on clock.
func callThrottle(tw *Twilio, clock *fakeclock.Clock) *notify.Throttle {
	return notify.NewThrottle(notify.NewDispatcher(map[string]notify.Channel{klaxon.ViaVoice: tw.Voice()}, nil), notify.ThrottleOptions{
		Limits:  map[string]time.Duration{klaxon.ViaVoice: time.Minute},
		Calls:   map[string]bool{klaxon.ViaVoice: true},
		CallCap: MaxCall,
		Now:     clock.Now,
	})
}

// TestCallMaybePlacedHoldsPerson: a call whose creation failed in a way
// that Twilio may have placed it all the same (a timeout, a 5xx) holds
// its person as a call placed does: the engine's next try of the page is
// deferred until the call's end is reported, or MaxCall from its
// placing, and does not ring over it. A refusal (4xx) places nothing:
// the person is free at once.
func TestCallMaybePlacedHoldsPerson(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	p := callPage
	ref := klaxon.PageRef{Incident: p.Incident, Notification: p.Notification}

	eachLoss(t, func(t *testing.T, fake *twiliotest.Server, lost *placedThenLost) {
		clock := fakeclock.New(t0)
		th := callThrottle(unsureTwilio(t, fake, lost), clock)

		err := th.Notify(t.Context(), p)
		require.Error(t, err)
		var d *klaxon.DeferredError
		require.NotErrorAs(t, err, &d, "a failure, for the engine to try again")

		clock.Add(time.Minute) // the engine tries again, past the limit
		require.ErrorAs(t, th.Notify(t.Context(), p), &d, "alice may be on the call: it is not rung over")
		require.Len(t, fake.Calls(), 1)

		th.Ended(ref) // its status callback: the call ended
		clock.Set(d.Until)
		require.NoError(t, th.Notify(t.Context(), p), "the call ended: the next goes")
		require.Len(t, fake.Calls(), 2)
	})

	t.Run("end never reported", func(t *testing.T) {
		fake := twiliotest.Start(t)
		fake.Fail(alice, http.StatusServiceUnavailable, 20503, 1)
		clock := fakeclock.New(t0)
		th := callThrottle(unsureTwilio(t, fake, &placedThenLost{}), clock)
		require.Error(t, th.Notify(t.Context(), p))

		clock.Add(time.Minute)
		for {
			var d *klaxon.DeferredError
			err := th.Notify(context.Background(), p)
			if err == nil {
				break
			}
			require.ErrorAs(t, err, &d)
			require.True(t, d.Until.After(clock.Now()))
			clock.Set(d.Until)
		}
		require.Equal(t, t0.Add(MaxCall), clock.Now(), "held for MaxCall from the try")
		require.Len(t, fake.Calls(), 1)
	})

	t.Run("refused", func(t *testing.T) {
		fake := twiliotest.Start(t)
		fake.Fail(alice, http.StatusBadRequest, 21211, 1)
		clock := fakeclock.New(t0)
		th := callThrottle(unsureTwilio(t, fake, &placedThenLost{}), clock)
		require.Error(t, th.Notify(t.Context(), p))
		require.NoError(t, th.Notify(t.Context(), p), "nothing was placed: alice is free at once")
		require.Len(t, fake.Calls(), 1)
	})
}
