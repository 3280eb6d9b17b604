package twilio_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestReportRetriedAfterStoreFailure: a final report that the store
// could not record is answered 503, so that Twilio sends it again; the
// report sent again is recorded, and moves the person on to their next
// rule, as it would have the first time.
func TestReportRetriedAfterStoreFailure(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		kind         klaxon.EventKind
	}{
		{name: "undelivered", status: "undelivered", kind: klaxon.EventPageFailed},
		{name: "delivered", status: "delivered", kind: klaxon.EventPageDelivered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
			next := t0.Add(5 * time.Minute)
			r.Update(t, id, func(inc *klaxon.Incident) {
				inc.Pending = []klaxon.Notification{{ID: 2, User: "alice", Via: klaxon.ViaVoice, Due: next}}
			})
			r.Clock.Add(time.Minute)
			path := "/v1/twilio/status?incident=" + id + "&n=1"
			report := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {tc.status}, "ErrorCode": {"30003"}}

			r.Store.FailCommits(1)
			code, out := r.post(t, path, report, "")
			require.Equal(t, http.StatusServiceUnavailable, code, out)

			// Twilio retries the callback that got a 5xx, byte for byte.
			code, out = r.post(t, path, report, "")
			require.Equal(t, http.StatusNoContent, code, out)
			require.Equal(t, 1, r.Store.CountEvents(t, id, func(e klaxon.Event) bool { return e.Kind == tc.kind }),
				"the retried %s report was not recorded", tc.status)
			if tc.kind == klaxon.EventPageFailed {
				inc := r.Incident(t, id)
				require.Len(t, inc.Pending, 1)
				require.Equal(t, r.Clock.Now(), inc.Pending[0].Due, "the next rule did not move up: alice's call waits until %s", next)
			}
		})
	}
}
