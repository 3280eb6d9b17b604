package notify_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// callLimit is a throttle of a minute for calls, one at a time, and for
// SMS, to next, on the clock *now.
func callLimit(next notify.Notifier, now *time.Time) *notify.Throttle {
	return cappedCalls(next, now, 0)
}

// cappedCalls is callLimit, a call taken to last callCap at most (0:
// the throttle's default).
func cappedCalls(next notify.Notifier, now *time.Time, callCap time.Duration) *notify.Throttle {
	return notify.NewThrottle(next, notify.ThrottleOptions{
		Limits:  map[string]time.Duration{klaxon.ViaVoice: time.Minute, klaxon.ViaSMS: time.Minute},
		Calls:   map[string]bool{klaxon.ViaVoice: true},
		CallCap: callCap,
		Now:     func() time.Time { return *now },
	})
}

func aliceCall(id string) klaxon.Page {
	return klaxon.Page{Incident: id, Notification: 1, User: klaxon.User{ID: "alice"}, Via: klaxon.ViaVoice}
}

// onCall places incident 1's call to alice at t0 through a throttle of
// calls (callLimit) on the clock *now, and a minute later, the limit up
// and the call not, holds incident 2's call to the call's next step.
func onCall(t *testing.T, t0 time.Time, now *time.Time) (*notify.Throttle, *sink, *klaxon.DeferredError) {
	t.Helper()
	out := &sink{}
	th := callLimit(out, now)
	require.NoError(t, th.Notify(t.Context(), aliceCall("1")))

	*now = t0.Add(time.Minute) // the limit is up, the call is not
	var d *klaxon.DeferredError
	require.ErrorAs(t, th.Notify(t.Context(), aliceCall("2")), &d, "alice is on 1's call")
	require.Equal(t, t0.Add(75*time.Second), d.Until)
	return th, out, d
}

// TestThrottleOneCallAtATime: a person on a call gets no other; the next
// is held back, in steps of 15 seconds from the call's placing, until the
// call's end is reported (Ended), and goes at the next step.
func TestThrottleOneCallAtATime(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	now := t0
	th, out, d := onCall(t, t0, &now)
	require.NoError(t, th.Notify(t.Context(), klaxon.Page{Incident: "2", Notification: 2, User: klaxon.User{ID: "alice"}, Via: klaxon.ViaSMS}),
		"an SMS is not held by a call")
	require.NoError(t, th.Notify(t.Context(), klaxon.Page{Incident: "2", Notification: 3, User: klaxon.User{ID: "bob"}, Via: klaxon.ViaVoice}),
		"bob is on no call")

	now = d.Until
	require.ErrorAs(t, th.Notify(t.Context(), aliceCall("2")), &d)
	require.Equal(t, t0.Add(90*time.Second), d.Until)
	th.Ended(klaxon.PageRef{Incident: "9", Notification: 1}) // no call of this replica's: changes nothing
	require.ErrorAs(t, th.Notify(t.Context(), aliceCall("2")), &d)

	th.Ended(klaxon.PageRef{Incident: "1", Notification: 1})
	now = d.Until
	require.NoError(t, th.Notify(t.Context(), aliceCall("2")), "the call ended: the next goes")
	require.Equal(t, "2", out.pages[len(out.pages)-1].Incident)
}

// TestThrottleCallEndNeverReported: a call whose end is never reported
// holds its person for the cap from its placing (ten minutes by default;
// the app's, twilio.MaxCall, six), no more: the next goes then. An end
// reported late, of a call passed over so, does not free the person from
// the call placed since.
func TestThrottleCallEndNeverReported(t *testing.T) {
	for _, tt := range []struct {
		callCap, want time.Duration
		steps         int
	}{
		{0, 10 * time.Minute, 36},
		{5 * time.Minute, 5 * time.Minute, 16},
	} {
		t.Run(tt.want.String(), func(t *testing.T) {
			t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
			now := t0
			out := &sink{}
			th := cappedCalls(out, &now, tt.callCap)
			require.NoError(t, th.Notify(t.Context(), aliceCall("1")))

			now = t0.Add(time.Minute)
			steps := 0
			for {
				var d *klaxon.DeferredError
				err := th.Notify(t.Context(), aliceCall("2"))
				if err == nil {
					break
				}
				require.ErrorAs(t, err, &d)
				require.True(t, d.Until.After(now), "held to a later time")
				now = d.Until
				steps++
				require.Less(t, steps, 100)
			}
			require.Equal(t, t0.Add(tt.want), now, "the next call goes at the cap")
			require.Equal(t, tt.steps, steps, "in steps of 15 seconds")

			th.Ended(klaxon.PageRef{Incident: "1", Notification: 1}) // late
			now = now.Add(time.Minute)
			var d *klaxon.DeferredError
			require.ErrorAs(t, th.Notify(t.Context(), aliceCall("3")), &d, "alice is on 2's call")
		})
	}
}

// TestThrottleCallNotPlaced: a call the provider did not place holds
// nobody, and a call whose end is reported before the provider answered
// that it placed it holds nobody either.
func TestThrottleCallNotPlaced(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	now := t0
	out := &sink{fail: errors.New("provider down")}
	th := callLimit(out, &now)
	require.Error(t, th.Notify(t.Context(), aliceCall("1")))
	out.fail = nil
	require.NoError(t, th.Notify(t.Context(), aliceCall("1")), "the window was given back")

	now = t0.Add(time.Hour)
	var th2 *notify.Throttle
	quick := &during{fn: func() { th2.Ended(klaxon.PageRef{Incident: "1", Notification: 1}) }}
	th2 = callLimit(quick, &now)
	require.NoError(t, th2.Notify(t.Context(), aliceCall("1")), "busy at once: ended before placed")
	now = now.Add(time.Minute)
	quick.fn = func() {}
	require.NoError(t, th2.Notify(t.Context(), aliceCall("2")), "the call ended: the next goes")
}

// TestThrottleCallEndedKeepsTurns: the calls held while their person was
// on another go, once it ended, the first incident first: a later
// incident's call that comes between the end and the held calls' next
// step gives the window to them, as it would to calls that waited for
// the limit.
func TestThrottleCallEndedKeepsTurns(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	now := t0
	th, out, d := onCall(t, t0, &now)

	now = t0.Add(70 * time.Second)
	th.Ended(klaxon.PageRef{Incident: "1", Notification: 1})
	now = now.Add(time.Second) // before 2's call comes again
	require.ErrorAs(t, th.Notify(t.Context(), aliceCall("3")), &d, "3's call waits for 2's, held first")

	now = t0.Add(75 * time.Second)
	require.NoError(t, th.Notify(t.Context(), aliceCall("2")))
	require.Equal(t, "2", out.pages[len(out.pages)-1].Incident, "2's call went before 3's")
}

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

// TestThrottleCallPlacedWhileTurnAskedWithoutLimit: with the limit of
// calls off, a call placed while another page's turn was being asked
// about (Wanted, the store's answer) holds that page: once the page it
// gave its window to is found unwanted, it does not go over the call
// placed meanwhile.
func TestThrottleCallPlacedWhileTurnAskedWithoutLimit(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	now := t0
	out := &sink{}
	asked, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	calls := 0
	th := notify.NewThrottle(out, notify.ThrottleOptions{
		Limits: map[string]time.Duration{klaxon.ViaVoice: 0},
		Calls:  map[string]bool{klaxon.ViaVoice: true},
		Now:    func() time.Time { return now },
		Wanted: func(_ context.Context, p klaxon.Page) bool {
			mu.Lock()
			calls++
			first := calls == 1
			mu.Unlock()
			if first { // 3's question about 2's call: answered late
				close(asked)
				<-release
			}
			return false // 2's incident was acknowledged
		},
	})
	require.NoError(t, th.Notify(t.Context(), aliceCall("1")))
	now = t0.Add(5 * time.Second)
	var d *klaxon.DeferredError
	require.ErrorAs(t, th.Notify(t.Context(), aliceCall("2")), &d, "alice is on 1's call")
	th.Ended(klaxon.PageRef{Incident: "1", Notification: 1})
	now = t0.Add(6 * time.Second)

	third := make(chan error, 1)
	go func() { third <- th.Notify(context.Background(), aliceCall("3")) }()
	<-asked
	require.NoError(t, th.Notify(t.Context(), aliceCall("4")), "2's call is unwanted: 4's goes")
	close(release)
	require.ErrorAs(t, <-third, &d, "alice is on 4's call")
	require.Len(t, out.pages, 2)
}

// maybeSent is a send that failed, and may have gone out all the same.
type maybeSent struct{}

func (maybeSent) Error() string   { return "provider: i/o timeout" }
func (maybeSent) Retryable() bool { return true }
func (maybeSent) MaybeSent() bool { return true }

// TestThrottleCallMaybePlaced: a call the provider may have placed
// though it failed holds its person as a call placed does, until its end
// is reported; an SMS that failed so gives its window back, as any
// failure does.
func TestThrottleCallMaybePlaced(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	now := t0
	out := &sink{fail: maybeSent{}}
	th := callLimit(out, &now)
	require.ErrorAs(t, th.Notify(t.Context(), aliceCall("1")), new(maybeSent))
	sms := klaxon.Page{Incident: "1", Notification: 2, User: klaxon.User{ID: "alice"}, Via: klaxon.ViaSMS}
	require.ErrorAs(t, th.Notify(t.Context(), sms), new(maybeSent))
	out.fail = nil
	require.NoError(t, th.Notify(t.Context(), sms), "an SMS's window is given back")

	now = t0.Add(time.Minute)
	var d *klaxon.DeferredError
	require.ErrorAs(t, th.Notify(t.Context(), aliceCall("1")), &d, "alice may be on 1's call")
	th.Ended(klaxon.PageRef{Incident: "1", Notification: 1})
	now = d.Until
	require.NoError(t, th.Notify(t.Context(), aliceCall("1")))
}
