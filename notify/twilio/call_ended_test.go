package twilio_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// TestCallEnded: a call's final status, whatever it is, tells Ended that
// the call ended (its person may get the next); a call's progress, and
// an SMS's status, do not.
func TestCallEnded(t *testing.T) {
	r := newRig(t)
	var mu sync.Mutex
	var ended []klaxon.PageRef
	srv := httptest.NewServer(twilio.NewCallbacks(twilio.CallbackOptions{Auth: r.auth.Load, Responder: r.Engine, Incidents: r.Store,
		Phonebook: phonebook{}, Memory: r.memory, Now: r.Clock.Now, Log: slog.New(slog.DiscardHandler),
		Ended: func(id string, n int) {
			mu.Lock()
			defer mu.Unlock()
			ended = append(ended, klaxon.PageRef{Incident: id, Notification: n})
		}}))
	t.Cleanup(srv.Close)
	r.base = srv.URL
	r.auth.Store(&twilio.CallbackAuth{AuthToken: authToken, PublicURL: srv.URL})
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0})

	for i, status := range []string{"ringing", "in-progress", "completed", "busy", "no-answer", "failed", "canceled"} {
		n := []string{"1", "2", "3", "4", "5", "6", "7"}[i]
		code, out := r.post(t, "/v1/twilio/status?incident="+id+"&n="+n, url.Values{"CallSid": {"CA" + n}, "CallStatus": {status}}, "")
		require.Equal(t, http.StatusNoContent, code, out)
	}
	code, out := r.post(t, "/v1/twilio/status?incident="+id+"&n=8", url.Values{"MessageSid": {"SM8"}, "MessageStatus": {"delivered"}}, "")
	require.Equal(t, http.StatusNoContent, code, out)

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []klaxon.PageRef{{Incident: id, Notification: 3}, {Incident: id, Notification: 4}, {Incident: id, Notification: 5},
		{Incident: id, Notification: 6}, {Incident: id, Notification: 7}}, ended)
}
