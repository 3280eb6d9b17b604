package twilio_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// TestCallAnsweredWhileIncidentUnread: a call answered while the store
// cannot be read says whose page it is and offers the menu, without the
// incident's details, rather than answer 503, on which Twilio says "an
// application error has occurred" and hangs up, and the person never
// hears which incident called. A key pressed on that menu acts once the
// store answers. A machine gets its short message, and the page counts
// as not reached.
func TestCallAnsweredWhileIncidentUnread(t *testing.T) {
	t.Run("a person", func(t *testing.T) {
		r := newRig(t)
		id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0})
		r.reads.down.Store(true)
		code, out := r.post(t, twilio.VoicePath+"?incident="+id+"&n=1", url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "AnsweredBy": {"human"}}, "")
		require.Equal(t, http.StatusOK, code, "Twilio would say an application error and hang up: %s", out)
		require.Contains(t, out, "Incident "+id)
		require.Contains(t, out, "could not read")
		require.Contains(t, out, "Press 1 to acknowledge")

		r.reads.down.Store(false)
		code, out = r.post(t, gatherAction(t, out), url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "Digits": {"1"}}, "")
		require.Equal(t, http.StatusOK, code, out)
		require.Contains(t, out, "Incident "+id+" acknowledged. Goodbye.")
		ackedByAlice(t, r, id)
	})
	t.Run("a machine", func(t *testing.T) {
		r := newRig(t)
		id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0})
		r.reads.down.Store(true)
		code, out := r.post(t, twilio.VoicePath+"?incident="+id+"&n=1", url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "AnsweredBy": {"machine_end_beep"}}, "")
		require.Equal(t, http.StatusOK, code, out)
		require.Contains(t, out, "This is Klaxon, with incident "+id+". Check your messages to respond.")
		events, _, err := r.Store.Timeline(t.Context(), id, 0, 100)
		require.NoError(t, err)
		require.Len(t, events, 1)
		require.Equal(t, klaxon.EventPageFailed, events[0].Kind, "a machine answered: not reached")
	})
}
