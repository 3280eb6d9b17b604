package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// losingProxy forwards requests to base, and loses the answers of the
// first lose POSTs: the server acted, the client hears nothing (a load
// balancer's timeout, a dropped connection). It counts the POSTs.
func losingProxy(t *testing.T, base string, lose int64) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), bytes.NewReader(body))
		require.NoError(t, err)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		answer, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		if r.Method == http.MethodPost && posts.Add(1) <= lose {
			conn, _, err := http.NewResponseController(w).Hijack()
			require.NoError(t, err)
			conn.Close() // acted on, never answered
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(srv.Close)
	return srv, &posts
}

// TestCommandAnswerLost: a command whose answer is lost on the way back
// is sent again by the CLI with the same Idempotency-Key, and acts once:
// an escalation retried pages the next step once, not the one after it.
// When no answer comes at all, the CLI says the command may have acted
// and how to see, rather than leave the responder to run it again.
func TestCommandAnswerLost(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	postFixture(t, base, "firing-two-alerts.json")
	id := findIncident(t, base, "HighErrorRate").ID
	byCLI := func(kind klaxon.EventKind) int {
		n := 0
		for _, e := range getIncident(t, base, id).Timeline {
			if e.Kind == kind && e.How == "cli" {
				n++
			}
		}
		return n
	}

	proxy, posts := losingProxy(t, base, 1)
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"escalate", id, "--server", proxy.URL, "--token", apiToken}, &out, &errOut)
	require.NoError(t, err, "the command is sent again, and answered")
	require.Equal(t, "incident "+id+" escalated to step 2: 5xx ratio above 5% on payments\n", out.String())
	require.EqualValues(t, 2, posts.Load(), "sent twice")
	require.Equal(t, 1, byCLI(klaxon.EventEscalated), "escalated once")

	proxy, posts = losingProxy(t, base, 1)
	out.Reset()
	require.NoError(t, run(t.Context(), []string{"note", id, "rolling back", "--server", proxy.URL, "--token", apiToken}, &out, &errOut))
	require.EqualValues(t, 2, posts.Load())
	require.Equal(t, 1, byCLI(klaxon.EventNote), "noted once")

	proxy, _ = losingProxy(t, base, 1000)
	err = run(t.Context(), []string{"escalate", id, "--server", proxy.URL, "--token", apiToken}, &out, &errOut)
	var exit *exitError
	require.True(t, errors.As(err, &exit), "%v", err)
	require.Equal(t, exitUnreachable, exit.code)
	require.ErrorContains(t, err, "may have")
	require.ErrorContains(t, err, "klaxon incident show "+id)
	require.Equal(t, 2, byCLI(klaxon.EventEscalated), "the tries of one command escalate once")
}
