package slack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/slacktest"
	"github.com/klaxonhq/klaxon/notify/slack"
)

var t0 = time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)

const channel = "C0INCIDENTS"

// newSlack is a Slack on the fake s, on clock c, that knows alice's
// Slack ID.
func newSlack(t *testing.T, s *slacktest.Server, c *fakeclock.Clock, opts ...func(*slack.Options)) *slack.Slack {
	t.Helper()
	o := slack.Options{BotToken: s.BotToken, SigningSecret: s.SigningSecret, APIURL: s.APIURL, PublicURL: public, Now: c.Now,
		SlackID: func(user string) (string, bool) { return "U0ALICE", user == "alice" }}
	for _, f := range opts {
		f(&o)
	}
	sl, err := slack.New(o)
	require.NoError(t, err)
	return sl
}

// blocksOf decodes a recorded message's blocks.
func blocksOf(t *testing.T, m slacktest.Message) []block {
	t.Helper()
	var out []block
	require.NoError(t, json.Unmarshal([]byte(m.Blocks), &out))
	return out
}

// TestPostThenUpdate: an incident's message is posted once, and updated
// in place as the incident changes: the same message, its buttons gone
// once resolved.
func TestPostThenUpdate(t *testing.T) {
	s := slacktest.Start(t)
	sl := newSlack(t, s, fakeclock.New(t0))
	chat, err := sl.Post(t.Context(), channel, incident(klaxon.StateTriggered), []string{"alice"})
	ts := chat.TS
	require.NoError(t, err)
	require.NotEmpty(t, ts)
	msgs := s.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, ts, msgs[0].TS)
	require.Equal(t, "#42 CRITICAL 5xx ratio above 5%: triggered", msgs[0].Text)
	require.Equal(t, []string{"klaxon_ack=42", "klaxon_resolve=42", "klaxon_escalate=42@0.0.0"}, buttonsOf(blocksOf(t, msgs[0])))
	require.Equal(t, "false", s.Calls()[0].Form.Get("unfurl_links"), "the incident's link shows no preview")

	require.NoError(t, sl.Update(t.Context(), channel, ts, incident(klaxon.StateAcknowledged), []string{"alice"}))
	require.NoError(t, sl.Update(t.Context(), channel, ts, incident(klaxon.StateResolved), []string{"alice"}))
	msgs = s.Messages()
	require.Len(t, msgs, 1, "updated, not posted again")
	require.Equal(t, ts, msgs[0].TS)
	require.Equal(t, 2, msgs[0].Updates)
	require.Equal(t, "#42 CRITICAL 5xx ratio above 5%: resolved by bob", msgs[0].Text)
	require.Nil(t, buttonsOf(blocksOf(t, msgs[0])))
	calls := s.Calls()
	require.Equal(t, "chat.update", calls[1].Method)
	require.Equal(t, ts, calls[1].Form.Get("ts"))

	err = sl.Update(t.Context(), channel, "1.000000", incident(klaxon.StateResolved), nil)
	var se *slack.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, "message_not_found", se.Code)
	require.False(t, se.Retryable())
}

// TestReply: a reply goes in the message's thread, escaped.
func TestReply(t *testing.T) {
	s := slacktest.Start(t)
	sl := newSlack(t, s, fakeclock.New(t0))
	chat, err := sl.Post(t.Context(), channel, incident(klaxon.StateTriggered), nil)
	ts := chat.TS
	require.NoError(t, err)
	require.NoError(t, sl.Reply(t.Context(), channel, ts, slack.EventText(klaxon.Event{Kind: klaxon.EventNote, By: "alice", How: "sms", Text: "<!here> look"})))
	msgs := s.Messages()
	require.Len(t, msgs, 2)
	require.Equal(t, ts, msgs[1].ThreadTS)
	require.Equal(t, "note by alice via sms: &lt;!here&gt; look", msgs[1].Text)
	require.ErrorIs(t, sl.Reply(t.Context(), channel, ts, ""), klaxon.ErrInvalid)
}

// TestSend: a page by Slack is a direct message to the user's Slack ID,
// with the buttons; a user without one is refused before any call.
func TestSend(t *testing.T) {
	s := slacktest.Start(t)
	s.AddUser("U0ALICE", "alice")
	sl := newSlack(t, s, fakeclock.New(t0))
	p := klaxon.Page{Incident: "42", Notification: 1, User: klaxon.User{ID: "alice"}, Via: slack.Via, Summary: "payments is down", Alerts: 1}
	require.NoError(t, sl.Send(t.Context(), p))
	calls := s.Calls()
	require.Len(t, calls, 2)
	require.Equal(t, "conversations.open", calls[0].Method)
	require.Equal(t, "U0ALICE", calls[0].Form.Get("users"))
	msgs := s.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, s.DM("U0ALICE"), msgs[0].Channel)
	require.Equal(t, "#42 payments is down (1 firing)", msgs[0].Text)
	require.Equal(t, []string{"klaxon_ack=42", "klaxon_resolve=42", "klaxon_escalate=42@n1"}, buttonsOf(blocksOf(t, msgs[0])))

	p.User.ID = "bob"
	require.ErrorIs(t, sl.Send(t.Context(), p), klaxon.ErrInvalid)
	require.Len(t, s.Calls(), 2, "no call for a user without a Slack ID")

	s.AddUser("U0ALICE", "alice")
	noID := newSlack(t, s, fakeclock.New(t0), func(o *slack.Options) { o.SlackID = nil })
	p.User.ID = "alice"
	require.ErrorIs(t, noID.Send(t.Context(), p), klaxon.ErrInvalid)
}

// TestRateLimited: a 429 fails the call at once, with no wait and no
// second try, as a retryable *Error that names the Retry-After and when
// it ends, and asks its caller to wait that long; the next call passes.
// (A page by direct message is deferred instead: TestDMPausedByRetryAfter.)
func TestRateLimited(t *testing.T) {
	s := slacktest.Start(t)
	s.AddUser("U0ALICE", "alice")
	c := fakeclock.New(t0)
	sl := newSlack(t, s, c)
	s.RateLimit(1, 30*time.Second)
	_, err := sl.Post(t.Context(), channel, incident(klaxon.StateTriggered), nil)
	var se *slack.Error
	require.ErrorAs(t, err, &se)
	require.True(t, se.Retryable())
	require.Equal(t, http.StatusTooManyRequests, se.Status)
	require.Equal(t, 30*time.Second, se.RetryAfter)
	require.Equal(t, t0.Add(30*time.Second), se.Until)
	require.Contains(t, err.Error(), "rate limited, Retry-After 30s (until 2026-11-23T22:00:30Z)")
	require.Len(t, s.Calls(), 1, "no second try inside the call")
	require.Equal(t, 30*time.Second, klaxon.WaitOf(err), "the escalation engine tries a page again no sooner")

	_, err = sl.Post(t.Context(), channel, incident(klaxon.StateTriggered), nil)
	require.NoError(t, err)
}

// TestErrors: what Slack answers decides whether a call is tried again.
func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		answer    func(w http.ResponseWriter)
		retryable bool
		text      string
	}{
		{"refused", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"ok":false,"error":"not_in_channel"}`))
		}, false, "slack chat.postMessage: not_in_channel"},
		{"internal error", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"ok":false,"error":"internal_error"}`))
		}, true, "internal_error"},
		{"server error", func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) }, true, "status 502"},
		{"429 with a date", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", t0.Add(90*time.Second).Format(http.TimeFormat))
			w.WriteHeader(http.StatusTooManyRequests)
		}, true, "Retry-After 1m30s"},
		{"429 without Retry-After", func(w http.ResponseWriter) { w.WriteHeader(http.StatusTooManyRequests) }, true, "Retry-After not given"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tc.answer(w) }))
			t.Cleanup(srv.Close)
			sl, err := slack.New(slack.Options{BotToken: "xoxb-1", SigningSecret: "s", APIURL: srv.URL, Now: fakeclock.New(t0).Now})
			require.NoError(t, err)
			_, err = sl.Post(t.Context(), channel, incident(klaxon.StateTriggered), nil)
			var se *slack.Error
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.retryable, se.Retryable())
			require.Contains(t, err.Error(), tc.text)
		})
	}
}

// TestSlackDown: a Slack that does not answer fails the call after the
// call's own timeout, retryable, a page by direct message too; a caller's
// context that ends fails it for good.
func TestSlackDown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server sees the client go
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second): // no timeout: answer, and fail the test
			_, _ = w.Write([]byte(`{"ok":true,"channel":"C0INCIDENTS","ts":"1.000001"}`))
		}
	}))
	t.Cleanup(srv.Close)
	// Only the call's own timeout bounds it.
	sl, err := slack.New(slack.Options{BotToken: "xoxb-1", SigningSecret: "s", APIURL: srv.URL, Timeout: 50 * time.Millisecond,
		HTTPClient: &http.Client{}, SlackID: func(string) (string, bool) { return "U0ALICE", true }})
	require.NoError(t, err)
	_, err = sl.Post(t.Context(), channel, incident(klaxon.StateTriggered), nil)
	var se *slack.Error
	require.ErrorAs(t, err, &se)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.True(t, se.Retryable(), "Slack was slow: try again later")
	// A page's two calls share a deadline of the Slack's own, which is
	// not the caller's.
	err = sl.Send(t.Context(), klaxon.Page{Incident: "42", Notification: 1, Summary: "payments down", User: klaxon.User{ID: "alice"}, Via: slack.Via})
	require.ErrorAs(t, err, &se)
	require.True(t, se.Retryable(), "Slack was slow to take a page: try again later")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = sl.Post(ctx, channel, incident(klaxon.StateTriggered), nil)
	require.ErrorAs(t, err, &se)
	require.False(t, se.Retryable(), "the caller gave up")
}

func TestNew(t *testing.T) {
	tests := []struct {
		name  string
		o     slack.Options
		field string
	}{
		{"no token", slack.Options{SigningSecret: "s"}, "bot_token"},
		{"no secret", slack.Options{BotToken: "xoxb-1"}, "signing_secret"},
		{"bad api url", slack.Options{BotToken: "xoxb-1", SigningSecret: "s", APIURL: "slack.com/api"}, "api_url"},
		{"bad public url", slack.Options{BotToken: "xoxb-1", SigningSecret: "s", PublicURL: "ftp://x"}, "public_url"},
		{"negative timeout", slack.Options{BotToken: "xoxb-1", SigningSecret: "s", Timeout: -1}, "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := slack.New(tc.o)
			var fe *klaxon.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.field, fe.Field)
		})
	}
	sl, err := slack.New(slack.Options{BotToken: "xoxb-1", SigningSecret: "s"})
	require.NoError(t, err)
	require.Equal(t, "s", sl.SigningSecret())
}
