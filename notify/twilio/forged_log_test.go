package twilio_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/syncbuf"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// TestForgedCallbacksLogThinly: anyone who can reach Klaxon can post a
// forged callback, by the thousand a second. Each gets its 403, but the
// log takes at most one line a second of them, which counts those it
// stands for: a flood of forgeries does not bury the pages' lines.
func TestForgedCallbacksLogThinly(t *testing.T) {
	r := newRig(t)
	var logs syncbuf.Buffer
	srv := httptest.NewServer(twilio.NewCallbacks(twilio.CallbackOptions{Auth: r.auth.Load, Responder: r.Engine, Incidents: r.Store,
		Phonebook: phonebook{}, Memory: r.memory, Now: r.Clock.Now, Log: slog.New(slog.NewTextHandler(&logs, nil))}))
	t.Cleanup(srv.Close)
	r.base = srv.URL
	r.auth.Store(&twilio.CallbackAuth{AuthToken: authToken, PublicURL: srv.URL})

	reply := url.Values{"MessageSid": {"SM" + strings.Repeat("1", 32)}, "From": {alicePhone}, "Body": {"1A"}}
	for range 50 {
		code, out := r.post(t, twilio.SMSPath, reply, "bm90IGEgc2lnbmF0dXJl")
		require.Equal(t, http.StatusForbidden, code, out)
	}
	require.Equal(t, 1, strings.Count(logs.String(), "twilio callback refused"), logs.String())

	r.Clock.Add(time.Second)
	code, out := r.post(t, twilio.SMSPath, reply, "bm90IGEgc2lnbmF0dXJl")
	require.Equal(t, http.StatusForbidden, code, out)
	require.Equal(t, 2, strings.Count(logs.String(), "twilio callback refused"), logs.String())
	require.Contains(t, logs.String(), "unlogged=49")
}
