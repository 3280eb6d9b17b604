package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/slacktest"
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

// TestTestPageSlack: a test page by Slack goes to the person's DM, as
// the others go through their providers, and says Slack took it; one to
// a user without a Slack ID is not sent, and says why.
func TestTestPageSlack(t *testing.T) {
	fake := slacktest.Start(t)
	fake.AddUser("U0ALICE", "alice")
	config := writeConfig(t, time.Hour)
	b, err := os.ReadFile(config)
	require.NoError(t, err)
	cfg := strings.Replace(string(b), "notify:\n  console: {}\n", fmt.Sprintf("notify:\n  console: {}\n  slack: {bot_token: %s, signing_secret: %s, api_url: %q}\n",
		fake.BotToken, fake.SigningSecret, fake.APIURL), 1)
	require.NoError(t, os.WriteFile(config, []byte(cfg), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(config), "users.yaml"), []byte(`users:
  - {id: alice, name: Alice Chen, slack_id: U0ALICE, notify: [{via: slack, after: 0s}]}
  - {id: bob, name: Bob Ortiz, email: bob@example.com, notify: [{via: email, after: 0s}]}
`), 0o644))
	base, _, _ := startServe(t, config)
	cli := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), append(args, "--server", base, "--token", apiToken), &out, &errOut)
		return out.String() + errOut.String(), err
	}

	out, err := cli("test-page", "alice", "--via", "slack")
	require.NoError(t, err, out)
	require.Equal(t, "slack: sent: accepted by Slack\n", out)
	out, err = cli("test-page", "alice")
	require.NoError(t, err, out)
	require.Equal(t, "slack: sent: accepted by Slack\n", out, "by her rules")
	msgs := fake.Messages()
	require.Len(t, msgs, 2)
	for _, m := range msgs {
		require.Equal(t, fake.DM("U0ALICE"), m.Channel, "her DM")
		require.Equal(t, klaxon.TestText("slack"), m.Text)
	}

	// Slack throttles her DM: the test page is held back, and says until when.
	fake.RateLimit(1, 30*time.Second)
	out, err = cli("test-page", "alice", "--via", "slack")
	require.ErrorContains(t, err, "1 of 1 test pages to alice not sent")
	require.Contains(t, out, "slack: NOT SENT: held back: Slack is pacing pages to alice; try again after ")

	out, err = cli("test-page", "bob", "--via", "slack")
	require.ErrorContains(t, err, "1 of 1 test pages to bob not sent")
	require.Contains(t, out, "slack: NOT SENT: ")
	require.Contains(t, out, "no Slack ID")
}
