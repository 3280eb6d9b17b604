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
