package twilio_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// TestBareReplyAfterUndeliveredPage: a bare reply ("A", "R") acts on
// the latest page to the phone that replies. An SMS that Twilio reported
// undelivered never reached that phone, as one that failed at once did
// not: a bare reply does not act on its incident, but on the page the
// person did get.
func TestBareReplyAfterUndeliveredPage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		late   klaxon.Sent
		report string // Twilio's report of the late page, "" for none
	}{
		// As it is: a page that failed at once is no page to her.
		{"an SMS that failed at once", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, Failed: true}, ""},
		{"an SMS reported undelivered", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0.Add(time.Minute)}, "undelivered"},
		{"an SMS reported failed", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0.Add(time.Minute)}, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			got := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
			missed := r.Open(t, "checkout", tc.late)
			r.Clock.Add(2 * time.Minute)
			if tc.report != "" {
				code, out := r.post(t, twilio.StatusPath+"?incident="+missed+"&n=1",
					url.Values{"MessageSid": {"SM2"}, "MessageStatus": {tc.report}, "ErrorCode": {"30003"}}, "")
				require.Equal(t, http.StatusNoContent, code, out)
				require.True(t, r.Incident(t, missed).Sent[0].Failed)
			}
			r.Clock.Add(time.Minute)

			out := twimlText(r.sms(t, "SM"+strings.Repeat("d", 32), "R"))
			require.Equal(t, klaxon.StateTriggered, r.Incident(t, missed).State,
				"#%s, whose SMS never reached alice, was resolved by her bare reply: %s", missed, out)
			require.Equal(t, klaxon.StateResolved, r.Incident(t, got).State, out)
		})
	}
}
