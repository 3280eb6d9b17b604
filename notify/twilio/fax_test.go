package twilio_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// TestCallAnsweredByFax: answering-machine detection reports a fax
// (AnsweredBy=fax) as it does a machine, and the TwiML fetch counts it
// not reached. The call's status callback says the same: a fax reached
// nobody, and alice moves on to her next rule at once.
func TestCallAnsweredByFax(t *testing.T) {
	for _, answeredBy := range []string{"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"} {
		t.Run(answeredBy, func(t *testing.T) {
			r := newRig(t)
			id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0})
			r.Update(t, id, func(inc *klaxon.Incident) {
				inc.Pending = []klaxon.Notification{{ID: 2, User: "alice", Via: klaxon.ViaSMS, Due: t0.Add(5 * time.Minute)}}
			})
			r.Clock.Add(time.Minute)
			end := url.Values{"CallSid": {"CA1"}, "CallStatus": {"completed"}, "AnsweredBy": {answeredBy}}
			code, out := r.post(t, twilio.StatusPath+"?incident="+id+"&n=1", end, "")
			require.Equal(t, http.StatusNoContent, code, out)

			events, _, err := r.Store.Timeline(t.Context(), id, 0, 100)
			require.NoError(t, err)
			require.Len(t, events, 1)
			require.Equal(t, klaxon.EventPageFailed, events[0].Kind, "a call answered by %s recorded as %s (%s)", answeredBy, events[0].Kind, events[0].Text)
			require.Equal(t, r.Clock.Now(), r.Incident(t, id).Pending[0].Due, "alice's SMS waits its delay")
		})
	}
}
