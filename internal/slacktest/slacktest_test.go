package slacktest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/slacktest"
)

func client(s *slacktest.Server, token string) *slack.Client {
	return slack.New(token, slack.OptionAPIURL(s.APIURL))
}

// TestWebAPI: the fake answers slack-go as Slack does: messages posted,
// updated and threaded, a DM opened with a known user, and refusals with
// Slack's error codes.
func TestWebAPI(t *testing.T) {
	s := slacktest.Start(t)
	s.AddUser("U0ALICE", "alice")
	api := client(s, s.BotToken)
	ctx := t.Context()

	ch, ts, err := api.PostMessageContext(ctx, "C0INCIDENTS", slack.MsgOptionText("hello", false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*hello*", false, false), nil, nil)))
	require.NoError(t, err)
	require.Equal(t, "C0INCIDENTS", ch)
	require.NotEmpty(t, ts)

	_, _, _, err = api.UpdateMessageContext(ctx, ch, ts, slack.MsgOptionText("bye", false))
	require.NoError(t, err)
	_, reply, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("in thread", false), slack.MsgOptionTS(ts))
	require.NoError(t, err)
	require.NotEqual(t, ts, reply)

	dm, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U0ALICE"}})
	require.NoError(t, err)
	require.Equal(t, s.DM("U0ALICE"), dm.ID)
	again, _, already, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U0ALICE"}})
	require.NoError(t, err)
	require.True(t, already)
	require.Equal(t, dm.ID, again.ID)
	u, err := api.GetUserInfoContext(ctx, "U0ALICE")
	require.NoError(t, err)
	require.Equal(t, "alice", u.Name)

	msgs := s.Messages()
	require.Len(t, msgs, 2)
	require.Equal(t, slacktest.Message{Channel: ch, TS: ts, Text: "bye", Updates: 1}, msgs[0])
	require.Equal(t, slacktest.Message{Channel: ch, TS: reply, ThreadTS: ts, Text: "in thread"}, msgs[1])
	_, gone, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("posted twice", false))
	require.NoError(t, err)
	_, _, err = api.DeleteMessageContext(ctx, ch, gone)
	require.NoError(t, err)
	require.Equal(t, msgs, s.Messages(), "a deleted message is gone")

	refusals := []struct {
		name string
		call func() error
		code string
	}{
		{"wrong token", func() error {
			_, _, err := client(s, "xoxb-wrong").PostMessageContext(ctx, ch, slack.MsgOptionText("x", false))
			return err
		}, "invalid_auth"},
		{"unknown channel", func() error {
			_, _, err := api.PostMessageContext(ctx, "D0NOTOPEN", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"no text", func() error { _, _, err := api.PostMessageContext(ctx, ch); return err }, "no_text"},
		{"unknown message", func() error {
			_, _, _, err := api.UpdateMessageContext(ctx, ch, "1.000000", slack.MsgOptionText("x", false))
			return err
		}, "message_not_found"},
		{"unknown message deleted", func() error {
			_, _, err := api.DeleteMessageContext(ctx, ch, "1.000000")
			return err
		}, "message_not_found"},
		{"unknown thread", func() error {
			_, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("x", false), slack.MsgOptionTS("1.000000"))
			return err
		}, "thread_not_found"},
		{"unknown user", func() error {
			_, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U0NOBODY"}})
			return err
		}, "user_not_found"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			var refused slack.SlackErrorResponse
			require.True(t, errors.As(tc.call(), &refused))
			require.Equal(t, tc.code, refused.Err)
		})
	}
	require.Len(t, s.Messages(), 2, "refused calls post nothing")
}

// TestRateLimit: the next n calls get 429 with Retry-After, which
// slack-go reads as a RateLimitedError; then calls pass again.
func TestRateLimit(t *testing.T) {
	s := slacktest.Start(t)
	api := client(s, s.BotToken)
	s.RateLimit(2, 30*time.Second)
	for range 2 {
		_, _, err := api.PostMessageContext(t.Context(), "C0INCIDENTS", slack.MsgOptionText("x", false))
		var limited *slack.RateLimitedError
		require.True(t, errors.As(err, &limited), "%v", err)
		require.Equal(t, 30*time.Second, limited.RetryAfter)
	}
	_, _, err := api.PostMessageContext(t.Context(), "C0INCIDENTS", slack.MsgOptionText("x", false))
	require.NoError(t, err)
	calls := s.Calls()
	require.Len(t, calls, 3)
	require.Equal(t, http.StatusTooManyRequests, calls[0].Status)
	require.Equal(t, http.StatusOK, calls[2].Status)
	require.Len(t, s.Messages(), 1)
}

// TestSignedRequests: the requests the fake builds are signed as Slack
// signs them, which slack-go's own verifier checks, and carry what an
// app reads.
func TestSignedRequests(t *testing.T) {
	s := slacktest.Start(t)
	now := time.Now() // slack-go's verifier reads the wall clock
	press := slacktest.Interaction(t, "http://127.0.0.1/v1/slack/interactions", s.SigningSecret, now,
		slacktest.Press{UserID: "U0ALICE", UserName: "alice", ActionID: "klaxon_ack", Value: "42",
			Channel: "C0INCIDENTS", MessageTS: "1.000001", ResponseURL: s.ResponseURL("r1")})
	verify(t, press, s.SigningSecret)
	ic, err := slack.InteractionCallbackParse(press)
	require.NoError(t, err)
	require.Equal(t, slack.InteractionTypeBlockActions, ic.Type)
	require.Equal(t, "U0ALICE", ic.User.ID)
	require.Len(t, ic.ActionCallback.BlockActions, 1)
	require.Equal(t, "klaxon_ack", ic.ActionCallback.BlockActions[0].ActionID)
	require.Equal(t, "42", ic.ActionCallback.BlockActions[0].Value)
	require.Equal(t, s.ResponseURL("r1"), ic.ResponseURL)

	cmd := slacktest.SlashCommand(t, "http://127.0.0.1/v1/slack/commands", s.SigningSecret, now,
		slacktest.Command{UserID: "U0ALICE", Text: "ack 42"})
	verify(t, cmd, s.SigningSecret)
	sc, err := slack.SlashCommandParse(cmd)
	require.NoError(t, err)
	require.Equal(t, "/klaxon", sc.Command)
	require.Equal(t, "ack 42", sc.Text)

	wrong := slacktest.SlashCommand(t, "http://127.0.0.1/", "another secret", now, slacktest.Command{Text: "help"})
	body, err := io.ReadAll(wrong.Body)
	require.NoError(t, err)
	v, err := slack.NewSecretsVerifier(wrong.Header, s.SigningSecret)
	require.NoError(t, err)
	_, _ = v.Write(body)
	require.ErrorIs(t, v.Ensure(), slack.ErrInvalidSignature)
}

// verify checks req's signature with slack-go, and leaves its body to
// read again.
func verify(t *testing.T, req *http.Request, secret string) {
	t.Helper()
	body, err := io.ReadAll(req.Body)
	require.NoError(t, err)
	req.Body = io.NopCloser(bytes.NewReader(body))
	v, err := slack.NewSecretsVerifier(req.Header, secret)
	require.NoError(t, err)
	_, err = v.Write(body)
	require.NoError(t, err)
	require.NoError(t, v.Ensure())
}

// TestResponses: answers posted to a response URL are kept.
func TestResponses(t *testing.T) {
	s := slacktest.Start(t)
	b, err := json.Marshal(map[string]any{"response_type": "ephemeral", "text": "done"})
	require.NoError(t, err)
	resp, err := http.Post(s.ResponseURL("r 1"), "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, []slacktest.Response{{ID: "r 1", ResponseType: "ephemeral", Text: "done"}}, s.Responses())
	require.True(t, strings.HasPrefix(s.ResponseURL("x"), strings.TrimSuffix(s.APIURL, "api/")))
}

// TestChannelNames: a channel named by its name is the channel of its
// ID, answered and limited as that ID; a closed DM takes no post, and
// the next conversations.open opens another.
func TestChannelNames(t *testing.T) {
	s := slacktest.Start(t)
	s.AddChannel("C0OPS", "ops")
	s.ChannelLimit("chat.postMessage", time.Hour, 1)
	api := client(s, s.BotToken)
	ch, _, err := api.PostMessageContext(t.Context(), "#ops", slack.MsgOptionText("x", false))
	require.NoError(t, err)
	require.Equal(t, "C0OPS", ch, "answered with the ID")
	for _, name := range []string{"C0OPS", "ops", "#ops"} {
		_, _, err = api.PostMessageContext(t.Context(), name, slack.MsgOptionText("x", false))
		var limited *slack.RateLimitedError
		require.True(t, errors.As(err, &limited), "%s: %v", name, err)
	}
	require.Equal(t, "#ops", s.Calls()[0].Form.Get("channel"), "the call as sent")
	require.Equal(t, "C0OPS", s.Messages()[0].Channel)

	s.AddUser("U0ALICE", "alice")
	dm, _, _, err := api.OpenConversationContext(t.Context(), &slack.OpenConversationParameters{Users: []string{"U0ALICE"}})
	require.NoError(t, err)
	s.CloseDM("U0ALICE")
	_, _, err = api.PostMessageContext(t.Context(), dm.ID, slack.MsgOptionText("x", false))
	var refused slack.SlackErrorResponse
	require.True(t, errors.As(err, &refused))
	require.Equal(t, "channel_not_found", refused.Err)
	again, _, _, err := api.OpenConversationContext(t.Context(), &slack.OpenConversationParameters{Users: []string{"U0ALICE"}})
	require.NoError(t, err)
	require.NotEqual(t, dm.ID, again.ID)
}
