package email_test

import (
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"

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

// TestMaskAddressesOfEveryForm: a relay echoes the recipient as the
// user's config has it, and mail.ParseAddress takes a quoted local part
// ("alice smith"@example.com), one in UTF-8 (jörg@example.com, sent with
// SMTPUTF8) and a domain literal (alice@[192.0.2.10]): none is in the
// error in full, and the text around them stays.
func TestMaskAddressesOfEveryForm(t *testing.T) {
	for in, secret := range map[string]string{
		`550 5.1.1 <"alice smith"@example.com>: Recipient address rejected`: "alice smith",
		`550 5.1.1 <jörg.müller@example.com>: unknown user`:                 "rg.m",
		`550 5.1.1 <алиса@пример.рф>: unknown user`:                         "лиса",
		`550 5.1.1 <alice.smith@[192.0.2.10]>: unknown user`:                "lice.smith",
	} {
		out := email.MaskAddresses(in)
		require.NotContains(t, out, secret, in)
		require.Contains(t, out, "550 5.1.1 <", in)
		require.True(t, strings.HasSuffix(out, in[strings.IndexByte(in, '>'):]), "the text after the address stays: %q", out)
		require.True(t, utf8.ValidString(out), "a character is never cut: %q", out)
	}
}

// TestMaskAddressesWithAnyCharacterParseAddressTakes: mail.ParseAddress,
// which checks a user's email in the config, takes in a local part a
// backquote and any character past ASCII (a symbol, an emoji, a no-break
// space), not letters and digits alone: such an address is masked too,
// not left whole, nor masked from the character on.
func TestMaskAddressesWithAnyCharacterParseAddressTakes(t *testing.T) {
	for addr, secret := range map[string]string{
		"bob`x@example.com":         "ob`x",
		"alice.smith`x@example.com": "lice.smith",
		"jörg€@example.com":         "örg€",
		"ali😀ce@example.com":        "li😀ce",
		"al\u00a0ice@example.com":   "l\u00a0ice",
	} {
		a, err := mail.ParseAddress(addr)
		require.NoError(t, err, addr)
		require.Equal(t, addr, a.Address, "a user's email as the config takes it")
		in := "550 5.1.1 <" + addr + ">: unknown user"
		out := email.MaskAddresses(in)
		require.NotContains(t, out, secret, in)
		require.Equal(t, "550 5.1.1 <"+addr[:1]+"…@example.com>: unknown user", out)
	}
}
