package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBadRequestBodies: a body that is not the JSON a command or an
// override takes is a 400 that says which, and changes nothing.
func TestBadRequestBodies(t *testing.T) {
	s, cmds := testServer(t)
	tests := []struct {
		name, path, token, want string
	}{
		{"command", "/v1/incidents/1/ack", actToken, `bad command body`},
		{"override", "/v1/schedules/primary/overrides", adminToken, `bad override`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(s, http.MethodPost, tt.path, tt.token, `{"by": 7`)
			require.Equal(t, http.StatusBadRequest, code, body)
			require.Contains(t, body, tt.want)
		})
	}
	require.Empty(t, cmds.acts, "no command was run")
}

// TestCompressedBody: a body in a content coding Klaxon does not decode
// is a 415 that says so, not a JSON error about its first byte.
func TestCompressedBody(t *testing.T) {
	s, cmds := testServer(t)
	code, body := call(s, http.MethodPost, "/v1/incidents/1/ack", actToken, "\x1f\x8b", "Content-Encoding", "gzip")
	require.Equal(t, http.StatusUnsupportedMediaType, code, body)
	require.Contains(t, body, `Content-Encoding \"gzip\" is not supported`)
	require.Empty(t, cmds.acts, "no command was run")
}

// TestCallbacksOfUnconfiguredProviders: without Twilio or Slack, their
// callback paths answer 404 saying what is not configured.
func TestCallbacksOfUnconfiguredProviders(t *testing.T) {
	s, _ := testServer(t)
	for path, want := range map[string]string{
		"/v1/twilio/sms":         "Twilio is not configured (notify.twilio)",
		"/v1/slack/interactions": "Slack is not configured (notify.slack)",
	} {
		code, body := call(s, http.MethodPost, path, "", "")
		require.Equal(t, http.StatusNotFound, code, path)
		require.Contains(t, body, want, path)
	}
}
