package twilio_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// answerLost is the store, whose next commits land but report an error
// while lose is above zero: the write went through, the answer to it
// was lost (a timeout, a connection cut after the write).
type answerLost struct {
	*incidenttest.Store
	lose atomic.Int32
}

func (s *answerLost) Commit(ctx context.Context, c klaxon.Commit) error {
	if err := s.Store.Commit(ctx, c); err != nil {
		return err
	}
	if s.lose.Add(-1) >= 0 {
		return fmt.Errorf("commit: i/o timeout: %w", klaxon.ErrUnavailable)
	}
	s.lose.Store(0)
	return nil
}

// withLostAnswers is newRig whose callbacks act through the engine over
// a store that can lose the answers to its commits.
func withLostAnswers(t *testing.T) (*rig, *answerLost) {
	t.Helper()
	r := newRig(t)
	st := &answerLost{Store: r.Store}
	srv := httptest.NewServer(twilio.NewCallbacks(twilio.CallbackOptions{Auth: r.auth.Load, Responder: incidenttest.NewEngine(st, r.Clock.Now),
		Incidents: r.reads, Phonebook: phonebook{}, Memory: r.memory, Now: r.Clock.Now, Log: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	r.base = srv.URL
	r.auth.Store(&twilio.CallbackAuth{AuthToken: authToken, PublicURL: srv.URL})
	return r, st
}

// TestKeyPressLandedAnswerLost: a key press whose act landed but whose
// answer was lost (the store wrote, then reported an error) is told as
// one Klaxon could not record, and the menu offered again; the same key
// pressed again on that menu must not act a second time: the call's
// press acts once, and is told as done.
func TestKeyPressLandedAnswerLost(t *testing.T) {
	for _, tc := range []struct {
		digit, done string
		kind        klaxon.EventKind
	}{
		{"1", "acknowledged", klaxon.EventAcknowledged},
		{"3", "escalated", klaxon.EventEscalated},
	} {
		t.Run(tc.done, func(t *testing.T) {
			r, st := withLostAnswers(t)
			id, out := answered(t, r)
			var code int
			press := url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "Digits": {tc.digit}}

			st.lose.Store(1)
			code, out = r.post(t, gatherAction(t, out), press, "")
			require.Equal(t, http.StatusOK, code, out)
			require.Contains(t, out, "Klaxon could not record it")
			require.Equal(t, 1, r.Store.CountEvents(t, id, func(ev klaxon.Event) bool { return ev.Kind == tc.kind && ev.By == "alice" }),
				"the first press landed")

			code, out = r.post(t, gatherAction(t, out), press, "")
			require.Equal(t, http.StatusOK, code, out)
			require.Contains(t, out, "Incident "+id+" "+tc.done+". Goodbye.")
			require.Equal(t, 1, r.Store.CountEvents(t, id, func(ev klaxon.Event) bool { return ev.Kind == tc.kind && ev.By == "alice" }),
				"the press acted twice")
		})
	}
}

// TestEscalateKeyOnTwoCalls: escalate pressed on two calls of the same
// incident, one after the other, escalates twice: a press acts once per
// call, not once per incident.
func TestEscalateKeyOnTwoCalls(t *testing.T) {
	r, _ := withLostAnswers(t)
	id := r.Open(t, "payments",
		klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0},
		klaxon.Sent{Notification: 2, User: "alice", Via: klaxon.ViaVoice, At: t0})
	for n, sid := range []string{"CA1", "CA2"} {
		path := fmt.Sprintf("%s?incident=%s&n=%d", twilio.VoicePath, id, n+1)
		code, out := r.post(t, path, url.Values{"CallSid": {sid}, "To": {alicePhone}, "AnsweredBy": {"human"}}, "")
		require.Equal(t, http.StatusOK, code, out)
		code, out = r.post(t, gatherAction(t, out), url.Values{"CallSid": {sid}, "To": {alicePhone}, "Digits": {"3"}}, "")
		require.Equal(t, http.StatusOK, code, out)
		require.Contains(t, out, "Incident "+id+" escalated. Goodbye.")
	}
	require.Equal(t, 2, r.Store.CountEvents(t, id, func(ev klaxon.Event) bool { return ev.Kind == klaxon.EventEscalated && ev.By == "alice" }))
}
