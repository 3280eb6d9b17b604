package email_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/notify/email"
)

// TestSendStalledRelayEndsWithContext: a relay that takes the mail and
// then says nothing holds the page no longer than its caller allows. The
// engine gives a page --page-timeout, a status update has 30 s: past
// them the page is tried again, its claim no longer renewed, and another
// replica may send it while this try still waits on the relay. The
// connection's own timeout (Options.Timeout) is set long here, so that
// only the context can end the try.
func TestSendStalledRelayEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	release := make(chan struct{})
	host, port := rawSMTP(t, "220 relay ready", func(cmd string) string {
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			return "250 relay"
		case cmd == "DATA":
			return "354 go ahead"
		case cmd == ".":
			cancel() // the page's time is up while the relay says nothing
			<-release
			return ""
		}
		return "250 ok"
	})
	t.Cleanup(func() { close(release) }) // before the relay's own cleanup
	e, _ := newEmailAt(t, host, port, email.Options{Timeout: time.Hour})

	done := make(chan error, 1)
	go func() { done <- e.Send(ctx, page) }()
	select {
	case err := <-done:
		require.Error(t, err)
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second): // the try would wait the hour
		t.Fatal("Send still waits on a stalled relay after its context ended")
	}
}
