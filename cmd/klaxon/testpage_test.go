package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestTestPage sends a new installation's first pages: by each of alice's
// rules, through the fake Twilio and a real SMTP server, with what each
// provider answered; a provider's refusal is reported, not hidden.
func TestTestPage(t *testing.T) {
	p := startPhones(t, "      - {via: sms, after: 0s}\n      - {via: voice, after: 1m}\n      - {via: email, after: 0s}")
	cli := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), append(args, "--server", p.base, "--token", apiToken), &out, &errOut)
		return out.String() + errOut.String(), err
	}

	out, err := cli("test-page", "alice")
	require.NoError(t, err, out)
	require.Equal(t, "sms: sent: accepted by Twilio\nvoice: sent: accepted by Twilio\nemail: sent: accepted by the SMTP server\n", out)
	sms := p.twilio.WaitSMS(t, alicePhone)
	require.Equal(t, klaxon.TestText("sms"), sms.Body)
	require.Empty(t, sms.StatusCallback, "a test page asks for no report")
	call := p.twilio.WaitCall(t, alicePhone)
	require.Contains(t, call.Form.Get("Twiml"), "Klaxon test page: pages by voice reach you.")
	require.Empty(t, call.URL, "a test call needs no callback")
	mail := p.smtp.WaitMessage(t)
	require.Contains(t, string(mail.Data), "Subject: Klaxon test page")
	require.Contains(t, string(mail.Data), klaxon.TestText("email"))

	// Twilio refuses the number: the answer says so, and the command fails.
	p.twilio.Fail(alicePhone, 400, 21211, -1)
	out, err = cli("test-page", "alice", "--via", "sms")
	require.ErrorContains(t, err, "1 of 1 test pages to alice not sent")
	require.Contains(t, out, "sms: NOT SENT: ")
	require.Contains(t, out, "21211")

	_, err = cli("test-page", "zed")
	require.ErrorContains(t, err, `no user "zed"`)
	_, err = cli("test-page", "alice", "--via", "pigeon")
	require.ErrorContains(t, err, `unknown "pigeon"`)
	require.Empty(t, p.logs.pagesFor("1"), "no incident, no page of one")
}

// TestTestPageConsole: with no Twilio, the console stands in, and the test
// says that nobody was reached.
func TestTestPageConsole(t *testing.T) {
	base, _, _ := startServe(t, writeConfig(t, time.Hour))
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"test-page", "alice", "--server", base, "--token", apiToken}, &out, &errOut)
	require.ErrorContains(t, err, "1 of 1 test pages to alice not sent")
	require.Equal(t, "sms: NOT SENT: sms is not configured: the console stood in, and nobody was reached\n", out.String())
}
