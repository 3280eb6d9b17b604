package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCommandAnswerCutShortUnframed: a 2xx answer without a length (the
// server, or a proxy, says Connection: close and ends the answer by
// closing) that is cut off reads as a whole body to Go's client, without
// an error: only its JSON is short. It is an answer lost as well, as one
// whose Content-Length says it is short: sent again with its key.
func TestCommandAnswerCutShortUnframed(t *testing.T) {
	var posts atomic.Int64
	whole := `{"id":"7","summary":"disk full","state":"triggered","escalation":{"step":1}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		if posts.Add(1) == 1 {
			conn, buf, err := http.NewResponseController(w).Hijack()
			require.NoError(t, err)
			_, _ = io.WriteString(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"+whole[:len(whole)/2])
			_ = buf.Flush()
			_ = conn.Close()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, whole)
	}))
	t.Cleanup(srv.Close)
	c := &client{server: srv.URL, token: apiToken, http: &http.Client{}}
	var out map[string]any
	err := c.act(t.Context(), "7", "escalate", nil, &out)
	require.NoError(t, err, "the command is sent again, and answered")
	require.EqualValues(t, 2, posts.Load(), "sent again with its key")
	require.Equal(t, "7", out["id"])
}
