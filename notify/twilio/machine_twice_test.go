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

// TestMachineReportedTwiceBeforeSent: a call answered by a machine is
// told twice, by the TwiML fetch (AnsweredBy=machine_start) and by the
// status callback at its end. When both come before the engine's commit
// that records the call as sent (a store slow to write in a storm), the
// page is recorded failed once and moves alice on to her next rule, the
// SMS, once: her email, the rule after it, keeps its time.
func TestMachineReportedTwiceBeforeSent(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments")
	sms, email := t0.Add(5*time.Minute), t0.Add(10*time.Minute)
	r.Update(t, id, func(inc *klaxon.Incident) {
		inc.Seq = 3
		inc.Pending = []klaxon.Notification{
			{ID: 1, User: "alice", Via: klaxon.ViaVoice, Due: t0}, // on its way: the call is placed
			{ID: 2, User: "alice", Via: klaxon.ViaSMS, Due: sms},
			{ID: 3, User: "alice", Via: klaxon.ViaEmail, Due: email},
		}
	})
	r.Clock.Add(20 * time.Second)
	call := url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "AnsweredBy": {"machine_start"}}

	code, out := r.post(t, twilio.VoicePath+"?incident="+id+"&n=1", call, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Contains(t, out, "Check your messages to respond.")
	r.Clock.Add(30 * time.Second)
	end := url.Values{"CallSid": {"CA1"}, "CallStatus": {"completed"}, "AnsweredBy": {"machine_start"}}
	code, out = r.post(t, twilio.StatusPath+"?incident="+id+"&n=1", end, "")
	require.Equal(t, http.StatusNoContent, code, out)

	due := map[int]time.Time{}
	for _, n := range r.Incident(t, id).Pending {
		due[n.ID] = n.Due
	}
	require.Equal(t, t0.Add(20*time.Second), due[2], "the SMS is due at once")
	require.Equal(t, email, due[3], "the email, her rule after the SMS, moved up too")
	require.Equal(t, 1, r.Store.CountEvents(t, id, func(e klaxon.Event) bool { return e.Kind == klaxon.EventPageFailed }),
		"one call, recorded failed twice")
}
