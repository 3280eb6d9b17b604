package slack_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/slacktest"
	"github.com/klaxonhq/klaxon/internal/syncbuf"
	"github.com/klaxonhq/klaxon/notify/slack"
)

// TestForgedCallbacksLogThinly: anyone who can reach Klaxon can post a
// forged Slack callback, by the thousand a second. Each gets its 401,
// but the log takes at most one line a second of them, which counts
// those it stands for.
func TestForgedCallbacksLogThinly(t *testing.T) {
	r := newRig(t)
	var logs syncbuf.Buffer
	srv := httptest.NewServer(slack.NewCallbacks(slack.CallbackOptions{
		SigningSecret:   func() string { return *r.secret.Load() },
		Responder:       r.responder,
		Users:           func(string) (string, bool) { return "", false },
		Memory:          r.memory,
		ResponseURLBase: r.slack.ResponseURL(""),
		Now:             r.clock.Now,
		Log:             slog.New(slog.NewTextHandler(&logs, nil)),
	}))
	t.Cleanup(srv.Close)
	forge := func() {
		t.Helper()
		press := slacktest.Press{UserID: "U0ALICE", ActionID: slack.ActionAck, Value: "42", Channel: channel}
		req := slacktest.Interaction(t, srv.URL+slack.InteractionsPath, "not the app's secret", r.clock.Now(), press)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	for range 50 {
		forge()
	}
	require.Equal(t, 1, strings.Count(logs.String(), "slack callback refused"), logs.String())

	r.clock.Add(time.Second)
	forge()
	require.Equal(t, 2, strings.Count(logs.String(), "slack callback refused"), logs.String())
	require.Contains(t, logs.String(), "unlogged=49")
	require.Empty(t, r.responder.Acts())
}
