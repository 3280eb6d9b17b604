package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// proxyTo forwards requests to base, and hands the answer of the n-th
// POST (from 1) to spoil, which writes to w what the client gets instead
// and reports true, or reports false for the answer to go as it came.
// It counts the POSTs.
func proxyTo(t *testing.T, base string, spoil func(n int64, w http.ResponseWriter, answer []byte) bool) (*httptest.Server, *atomic.Int64) {
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
		if r.Method == http.MethodPost && spoil(posts.Add(1), w, answer) {
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

// losingProxy is proxyTo losing the answers of the first lose POSTs:
// the server acted, the client hears nothing (a load balancer's
// timeout, a dropped connection).
func losingProxy(t *testing.T, base string, lose int64) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	return proxyTo(t, base, func(n int64, w http.ResponseWriter, _ []byte) bool {
		if n > lose {
			return false
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		require.NoError(t, err)
		conn.Close() // acted on, never answered
		return true
	})
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
	// The engine walks the first step as the incident opens; escalated
	// before that, the command would walk the first.
	waitFor(t, "the first step walked", func() bool {
		return slices.Contains(eventKinds(getIncident(t, base, id)), klaxon.EventEscalated)
	})
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

// TestCommandRetryFailsAfterLostAnswer: once a try of a command may have
// reached the server and its answer was lost, the command may have
// acted, whatever its later tries meet: a server that went down (the
// retry refused, as while it restarts) or that answers 5xx. The error
// must still say so, or the responder, told only to start the server or
// see its logs, runs the command again: another command, an escalation
// that escalates again. A 4xx answer comes after the server checked the
// key, so it is what it says.
func TestCommandRetryFailsAfterLostAnswer(t *testing.T) {
	for _, tt := range []struct {
		name  string
		retry func(w http.ResponseWriter, srv *httptest.Server)
	}{
		{"the server gone", nil},
		{"a 503", func(w http.ResponseWriter, _ *httptest.Server) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":"the store is unavailable"}`)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var posts atomic.Int64
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body)
				if posts.Add(1) > 1 {
					tt.retry(w, srv)
					return
				}
				// Acted on, never answered; and then, for the first
				// case, the server is down.
				if tt.retry == nil {
					srv.Listener.Close()
				}
				conn, _, err := http.NewResponseController(w).Hijack()
				require.NoError(t, err)
				conn.Close()
			}))
			t.Cleanup(srv.Close)
			var out, errOut bytes.Buffer
			err := run(t.Context(), []string{"escalate", "7", "--server", srv.URL, "--token", apiToken}, &out, &errOut)
			require.Error(t, err)
			require.ErrorContains(t, err, "may have acted", "the first try may have escalated")
			require.ErrorContains(t, err, "klaxon incident show 7")
		})
	}
}

// TestCommandNeverSentNotRetried: a command refused its connection (no
// server listens there) or whose server's name does not resolve was
// never sent: it is not sent again, and the error does not say that it
// may have acted, which would send the responder to look for an act
// that never happened rather than at --server.
func TestCommandNeverSentNotRetried(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"refused", os.NewSyscallError("connect", syscall.ECONNREFUSED)},
		{"no such host", &net.DNSError{Err: "no such host", Name: "klaxon.invalid", IsNotFound: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var dials atomic.Int64
			c := &client{server: "http://klaxon.invalid:8080", token: apiToken, http: &http.Client{Transport: &http.Transport{
				DialContext: func(context.Context, string, string) (net.Conn, error) {
					dials.Add(1)
					return nil, &net.OpError{Op: "dial", Net: "tcp", Err: tt.err}
				},
			}}}
			err := c.act(t.Context(), "7", "escalate", nil, nil)
			var exit *exitError
			require.True(t, errors.As(err, &exit), "%v", err)
			require.Equal(t, exitUnreachable, exit.code)
			require.NotContains(t, err.Error(), "may have acted", "never sent")
			require.EqualValues(t, 1, dials.Load(), "not sent again")
		})
	}

	// As the CLI runs, against a port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	var out, errOut bytes.Buffer
	err = run(t.Context(), []string{"ack", "7", "--server", "http://" + addr, "--token", apiToken}, &out, &errOut)
	require.ErrorContains(t, err, "cannot reach the Klaxon server")
	require.NotContains(t, err.Error(), "may have acted")
}

// TestCommandAnswerCutShort: a 2xx whose body is cut off on the way back
// (a proxy that drops the connection mid-answer) is an answer lost: the
// command acted, and is sent again with its key, which acts once.
func TestCommandAnswerCutShort(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	postFixture(t, base, "firing-two-alerts.json")
	id := findIncident(t, base, "HighErrorRate").ID
	proxy, posts := proxyTo(t, base, func(n int64, w http.ResponseWriter, answer []byte) bool {
		if n > 1 {
			return false
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		require.NoError(t, err)
		_, _ = fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(answer), answer[:len(answer)/2])
		_ = buf.Flush()
		conn.Close() // half the answer
		return true
	})
	var out, errOut bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"escalate", id, "--server", proxy.URL, "--token", apiToken}, &out, &errOut))
	require.EqualValues(t, 2, posts.Load(), "sent again")
	n := 0
	for _, e := range getIncident(t, base, id).Timeline {
		if e.Kind == klaxon.EventEscalated && e.How == "cli" {
			n++
		}
	}
	require.Equal(t, 1, n, "escalated once")
}

// TestServerCredentialsNotPrinted: a --server URL with a user and
// password in it is said without the password.
func TestServerCredentialsNotPrinted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	var out, errOut bytes.Buffer
	err = run(t.Context(), []string{"incidents", "--server", "http://ops:s3cret-pass@" + addr, "--token", apiToken}, &out, &errOut)
	require.Error(t, err)
	require.NotContains(t, err.Error()+errOut.String(), "s3cret-pass")
	require.Contains(t, err.Error(), addr)
}
