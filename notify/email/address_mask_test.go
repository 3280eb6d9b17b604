package email_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/smtptest"
	"github.com/klaxonhq/klaxon/notify/email"
)

// TestRefusalMasksAddresses: a relay's refusal names the recipient (go-mail
// adds "affected recipient(s): alice@example.com", and relays echo the
// address in their text). The error the engine logs and puts on the
// timeline keeps the domain and the address's first character only: an
// address is never in the logs in full.
func TestRefusalMasksAddresses(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	e, _ := newEmail(t, srv, email.Options{})
	srv.Refuse(550, "5.1.1 <alice@example.com>: Recipient address rejected; bob.smith@corp.example.org too", 1)
	err := e.Send(t.Context(), page)
	require.Error(t, err)
	msg := err.Error()
	require.NotContains(t, msg, "alice@example.com", msg)
	require.NotContains(t, msg, "bob.smith@", msg)
	require.Contains(t, msg, "a…@example.com", "the domain stays, to tell which relay or mailbox host refused")
	require.Contains(t, msg, "550", "the relay's code stays")
	var re interface{ Retryable() bool }
	require.ErrorAs(t, err, &re)
	require.False(t, re.Retryable())
}
