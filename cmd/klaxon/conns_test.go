package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSilentClientsCutOff: a client that sends its headers and one byte
// of its body, then nothing, is cut off after the read timeout; one
// address holding more connections than it may has the extra ones closed
// at once, and a sender from another address is still served.
func TestSilentClientsCutOff(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour), "--read-timeout", "500ms", "--max-conns-per-ip", "20")
	addr := strings.TrimPrefix(base, "http://")

	t.Run("a silent body is cut off", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = fmt.Fprintf(c, "POST /v1/ingest/alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", amToken)
		require.NoError(t, err)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, err = io.ReadAll(c) // the server answers or closes, well before the deadline
		require.NoError(t, err, "the connection was left open")
	})

	t.Run("one address holds a bounded number of connections", func(t *testing.T) {
		// A server whose timeouts cannot close the connections first.
		base, _, _ := startServe(t, writeConfig(t, time.Hour), "--read-timeout", "1m", "--max-conns-per-ip", "20")
		addr := strings.TrimPrefix(base, "http://")
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		flood := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		for range 20 {
			c, err := flood.Dial("tcp", addr)
			require.NoError(t, err)
			held = append(held, c)
		}
		// The twenty-first from that address is closed at once.
		extra, err := flood.Dial("tcp", addr)
		require.NoError(t, err)
		defer extra.Close()
		require.NoError(t, extra.SetReadDeadline(time.Now().Add(10*time.Second)))
		n, err := extra.Read(make([]byte, 1))
		require.Zero(t, n)
		require.ErrorIs(t, err, io.EOF)

		// Another address is served.
		resp, err := http.Get(base + "/healthz")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

// TestFailedAuthenticationsLimited: past 30 failed authentications a
// minute, one address gets 429 with Retry-After, on the API, on ingest,
// on PagerDuty's endpoint; a right token from it is still served, and
// another address is not limited.
func TestFailedAuthenticationsLimited(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	guesser := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
	get := func(c *http.Client, path, token string) *http.Response {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	for i := range 30 {
		require.Equal(t, http.StatusUnauthorized, get(guesser, "/v1/incidents", fmt.Sprintf("guess-%d", i)).StatusCode)
	}
	resp := get(guesser, "/v1/incidents", "guess-31")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))

	req, err := http.NewRequest(http.MethodPost, base+"/v1/ingest/alertmanager", strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer wrong")
	req.Header.Set("Content-Type", "application/json")
	ingest, err := guesser.Do(req)
	require.NoError(t, err)
	ingest.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, ingest.StatusCode)

	enqueue, err := guesser.Post(base+"/v2/enqueue", "application/json", strings.NewReader(`{"routing_key":"wrong","event_action":"resolve","dedup_key":"x"}`))
	require.NoError(t, err)
	enqueue.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, enqueue.StatusCode)

	require.Equal(t, http.StatusTooManyRequests, get(guesser, "/v1/incidents", apiToken).StatusCode, "the API compares no token, the right one neither")
	req, err = http.NewRequest(http.MethodPost, base+"/v1/ingest/alertmanager", strings.NewReader(`{"alerts":[{"status":"firing","labels":{"alertname":"Behind"}}]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+amToken)
	req.Header.Set("Content-Type", "application/json")
	ingest, err = guesser.Do(req)
	require.NoError(t, err)
	ingest.Body.Close()
	require.Equal(t, http.StatusOK, ingest.StatusCode, "a sender behind the guesser's address is never refused")
	require.Equal(t, http.StatusUnauthorized, get(http.DefaultClient, "/v1/incidents", "guess").StatusCode, "another address is not limited")
}
