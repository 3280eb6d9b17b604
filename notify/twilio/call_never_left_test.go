package twilio

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/notify"
)

// TestCallThatNeverLeftIsNotMaybePlaced: a call whose request never
// reached Twilio, as no connection to it was made (its TLS handshake
// failed, the client's timeout or the page's deadline ran out while it
// dialed), surely was not placed: it is asked for again at once when
// the error allows, and does not hold its person as on a call
// (notify.MaybeSent) for up to MaxCall, delaying every call to them.
func TestCallThatNeverLeftIsNotMaybePlaced(t *testing.T) {
	p := callPage

	t.Run("tls handshake cut", func(t *testing.T) {
		// A listener that takes each connection and closes it: the TLS
		// handshake fails, and no byte of the request is written.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ln.Close() })
		var accepted atomic.Int32
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				_ = c.Close()
			}
		}()
		tw, err := New(Options{AccountSID: "AC1", AuthToken: "token", From: from, APIURL: "https://" + ln.Addr().String(), PublicURL: public})
		require.NoError(t, err)
		tw.backoff = 0
		err = tw.Voice().Send(t.Context(), p)
		require.Error(t, err)
		require.False(t, notify.MaybeSent(err), "no connection was made, nothing was sent: %v", err)
		require.EqualValues(t, attempts, accepted.Load(), "a call surely not placed is asked for again at once")
	})

	// hanging dials until its context ends: a host that drops the SYN.
	hanging := func(dials *atomic.Int32) *http.Transport {
		return &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			dials.Add(1)
			select { // the transport may go on dialing for its pool
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Minute):
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: context.DeadlineExceeded}
			}
		}}
	}

	t.Run("client timeout while dialing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// On the bubble's clock, at the end: the dials the transport
			// went on with end.
			defer time.Sleep(time.Minute)
			var dials atomic.Int32
			tw, err := New(Options{AccountSID: "AC1", AuthToken: "token", From: from, APIURL: "https://api.twilio.example", PublicURL: public,
				HTTPClient: &http.Client{Transport: hanging(&dials), Timeout: 10 * time.Second}})
			require.NoError(t, err)
			tw.backoff = 0
			err = tw.Voice().Send(t.Context(), p)
			require.Error(t, err)
			require.False(t, notify.MaybeSent(err), "no connection was made, nothing was sent: %v", err)
			require.EqualValues(t, attempts, dials.Load(), "a call surely not placed is asked for again at once")
		})
	})

	t.Run("page deadline while dialing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// On the bubble's clock, at the end: the dials the transport
			// went on with end.
			defer time.Sleep(time.Minute)
			var dials atomic.Int32
			tw, err := New(Options{AccountSID: "AC1", AuthToken: "token", From: from, APIURL: "https://api.twilio.example", PublicURL: public,
				HTTPClient: &http.Client{Transport: hanging(&dials)}})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			err = tw.Voice().Send(ctx, p)
			require.Error(t, err)
			require.False(t, notify.MaybeSent(err), "no connection was made, nothing was sent: %v", err)
		})
	})
}

// TestCallOverHTTP2MaybePlaced: over HTTP/2, as Twilio's API answers, a
// 5xx to a call that got its connection, a new one or one kept from
// before, is still one Twilio may have placed: asked for once.
func TestCallOverHTTP2MaybePlaced(t *testing.T) {
	var requests, h2 atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.ProtoMajor == 2 {
			h2.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"code": 20500, "message": "Internal server error", "status": 500}`))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tw, err := New(Options{AccountSID: "AC1", AuthToken: "token", From: from, APIURL: srv.URL, PublicURL: public, HTTPClient: srv.Client()})
	require.NoError(t, err)
	tw.backoff = 0
	p := callPage
	for try := 1; try <= 2; try++ {
		err := tw.Voice().Send(t.Context(), p)
		require.Error(t, err)
		require.True(t, notify.MaybeSent(err), "try %d: %v", try, err)
		require.EqualValues(t, try, requests.Load(), "asked for once a try")
	}
	require.EqualValues(t, 2, h2.Load(), "over HTTP/2")
}

// TestCallCutAfterWrittenMaybePlaced: a call whose request was written
// whole, and whose connection was then cut with no answer, may have been
// placed: asked for once, its error says so.
func TestCallCutAfterWrittenMaybePlaced(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	var requests atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				requests.Add(1)
				_ = c.(*net.TCPConn).SetLinger(0) // a reset, no answer
			}()
		}
	}()
	tw, err := New(Options{AccountSID: "AC1", AuthToken: "token", From: from, APIURL: "http://" + ln.Addr().String(), PublicURL: public})
	require.NoError(t, err)
	tw.backoff = 0
	p := callPage
	err = tw.Voice().Send(t.Context(), p)
	require.Error(t, err)
	require.True(t, notify.MaybeSent(err), "%v", err)
	require.EqualValues(t, 1, requests.Load(), "asked for once")
}
