package email_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/notify/email"
)

// TestSendClosesConnectionWhenQuitFails: a relay that takes the mail and
// then answers QUIT with anything but 221 (a throttling relay's 421 that
// does not close, a relay that says 250) has go-mail's Quit fail, which
// then leaves the connection open: each such mail held a socket, on both
// sides, until Go's collector found it. Klaxon closes it.
func TestSendClosesConnectionWhenQuitFails(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	closed := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			closed <- err
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		say := func(s string) { _, _ = io.WriteString(c, s+"\r\n") }
		say("220 relay ready")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				closed <- err
				return
			}
			switch cmd := strings.TrimSpace(line); {
			case strings.HasPrefix(cmd, "EHLO"):
				say("250 relay")
			case cmd == "DATA":
				say("354 go ahead")
				for line != ".\r\n" {
					if line, err = r.ReadString('\n'); err != nil {
						closed <- err
						return
					}
				}
				say("250 queued")
			case cmd == "QUIT":
				say("421 4.7.0 too busy")
				// Klaxon is done with the connection: it closes it. The
				// deadline only bounds the failure.
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			default:
				say("250 ok")
			}
		}
	}()
	a := l.Addr().(*net.TCPAddr)
	e, _ := newEmailAt(t, a.IP.String(), a.Port, email.Options{})
	require.NoError(t, e.Send(t.Context(), page), "the relay took the mail")
	err = <-closed
	require.True(t, errors.Is(err, io.EOF), "the connection is closed after a failed QUIT, got %v", err)
}
