package twilio_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// TestCallEndedAfterReachedIsRecorded: a call whose placing failed (a
// timeout: Twilio may have placed it) holds its person in the throttle
// until its end is told (Ended), and the page's retry waits for it.
// When the call is reported completed, the page reached its person, and
// the report takes it out of the outbox (escalate's Delivery). Ended must
// come after that: told first, it frees the person while the page is
// still wanted, and a retry that comes due in between (the throttle's
// next step) calls them a second time.
func TestCallEndedAfterReachedIsRecorded(t *testing.T) {
	r := newRig(t)
	var pendingAtEnd []bool
	srv := httptest.NewServer(twilio.NewCallbacks(twilio.CallbackOptions{Auth: r.auth.Load, Responder: r.Engine, Incidents: r.Store,
		Phonebook: phonebook{}, Memory: r.memory, Now: r.Clock.Now, Log: slog.New(slog.DiscardHandler),
		Ended: func(id string, n int) {
			inc := r.Incident(t, id)
			pendingAtEnd = append(pendingAtEnd, slices.ContainsFunc(inc.Pending, func(p klaxon.Notification) bool { return p.ID == n }))
		}}))
	t.Cleanup(srv.Close)
	r.base = srv.URL
	r.auth.Store(&twilio.CallbackAuth{AuthToken: authToken, PublicURL: srv.URL})
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, Tries: 1, FirstTry: t0, Tried: t0})
	r.Update(t, id, func(inc *klaxon.Incident) {
		inc.Pending = []klaxon.Notification{{ID: 1, User: "alice", Via: klaxon.ViaVoice, Due: t0.Add(15 * time.Second), PutOff: true,
			Deferred: true, HeldAt: t0}}
	})

	code, out := r.post(t, "/v1/twilio/status?incident="+id+"&n=1", url.Values{"CallSid": {"CA1"}, "CallStatus": {"completed"}, "AnsweredBy": {"human"}}, "")
	require.Equal(t, http.StatusNoContent, code, out)
	require.Empty(t, r.Incident(t, id).Pending, "the call reached alice")
	require.Equal(t, []bool{false}, pendingAtEnd, "the call's end was told while its page was still to be tried again")
}
