package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRequestFieldErrors: a JSON body with a field the request does not
// take (a typo) or a field of the wrong type is a 400 whose field names
// it, and nothing is done. A typo was ignored: {"usr": "bob"} to assign
// took the assignee away and answered 200.
func TestRequestFieldErrors(t *testing.T) {
	s, cmds := testServer(t)
	tests := []struct {
		name, path, token, body, field string
	}{
		{"unknown field of assign", "/v1/incidents/1/assign", actToken, `{"usr":"bob"}`, "usr"},
		{"unknown field of a note", "/v1/incidents/1/notes", actToken, `{"text":"rolled back","updaet":true}`, "updaet"},
		{"unknown field of an override", "/v1/schedules/primary/overrides", adminToken,
			`{"user":"alice","from":"2026-12-01T00:00:00Z","to":"2026-12-02T00:00:00Z","usr":"bob"}`, "usr"},
		{"wrong type of a note's text", "/v1/incidents/1/notes", actToken, `{"text":7}`, "text"},
		{"wrong type of a snooze's duration", "/v1/incidents/1/snooze", actToken, `{"duration":30}`, "duration"},
		{"wrong type of an override's from", "/v1/schedules/primary/overrides", adminToken, `{"user":"alice","from":5}`, "from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(s, http.MethodPost, tt.path, tt.token, tt.body)
			require.Equal(t, http.StatusBadRequest, code, body)
			require.Equal(t, tt.field, errorOf(t, body).Field, body)
		})
	}
	require.Empty(t, cmds.acts, "no command was run")
}

// TestRequestTrailingData: a body of one JSON value followed by more is
// refused, as before.
func TestRequestTrailingData(t *testing.T) {
	s, cmds := testServer(t)
	code, body := call(s, http.MethodPost, "/v1/incidents/1/notes", actToken, `{"text":"a"} {"text":"b"}`)
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Empty(t, cmds.acts, "no command was run")
}
