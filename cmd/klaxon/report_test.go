package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/internal/twiliotest"
)

// TestDeliveryReportToOtherReplica pages alice by SMS and by a webhook
// that takes 5 s to answer, from one of two replicas on one Redis. While
// the webhook page is in flight, Twilio reports the SMS undelivered to the
// other replica: alice's call, due in an hour, is due now. The report must
// not free the incident for the other replica, which would send the SMS
// and the webhook page again while the first is still sending them: each
// page goes out once. The replica that holds the incident makes the call
// at once, without waiting for the slow webhook page.
func TestDeliveryReportToOtherReplica(t *testing.T) {
	t.Parallel() // it waits on real time (leases, steps) more than it works
	const delay = 5 * time.Second
	bin := buildKlaxon(t)
	redis := redistest.Start(t, "--appendonly", "yes")
	tw := twiliotest.Start(t)
	recv := newSlowReceiver(t, delay)
	replicas := map[string]*proc{}
	for _, name := range []string{"a", "b"} {
		config := stormConfig(t, name, recv.URL, redis.Addr(), time.Hour)
		rewrite(t, config, "notify:\n", fmt.Sprintf("notify:\n  twilio: {account_sid: %s, auth_token: %s, from: \"+15550100000\", api_url: %q}\n",
			tw.AccountSID, tw.AuthToken, tw.URL))
		users := filepath.Join(filepath.Dir(config), "users.yaml")
		require.NoError(t, os.WriteFile(users, []byte(`users:
  - id: alice
    phone: "`+alicePhone+`"
    notify: [{via: sms, after: 0s}, {via: webhook, after: 0s}, {via: voice, after: 1h}]
  - {id: bob, notify: [{via: webhook, after: 0s}]}
`), 0o644))
		// Each replica claims only when something wakes it: its own
		// ingest, its own fires, the reports it takes.
		b, err := os.ReadFile(config)
		require.NoError(t, err)
		replicas[name] = startBinaryAt(t, bin, config, func(addr string) {
			at := strings.Replace(string(b), "listen: 127.0.0.1:0", "listen: "+addr+"\npublic_url: http://"+addr, 1)
			require.NotEqual(t, string(b), at)
			require.NoError(t, os.WriteFile(config, []byte(at), 0o644))
		}, "--engine-poll", "1h")
	}

	postFixture(t, replicas["a"].base, "firing-two-alerts.json")
	id := findIncident(t, replicas["a"].base, "HighErrorRate").ID
	sms := tw.WaitSMS(t, alicePhone)
	waitWithin(t, "the webhook page is in flight", 5*time.Second, func() bool { return len(recv.pages()) == 1 })
	// The report goes to the replica that did not send the SMS, signed for
	// its URL.
	cb, err := url.Parse(sms.StatusCallback)
	require.NoError(t, err)
	sender, other := "a", "b"
	if strings.TrimPrefix(replicas["b"].base, "http://") == cb.Host {
		sender, other = "b", "a"
	}
	cb.Host = strings.TrimPrefix(replicas[other].base, "http://")
	report := twiliotest.ReadForm(t, filepath.Join("testdata", "twilio-message-status.txt"))
	report.Set("MessageSid", sms.SID)
	reported := time.Now()
	res := tw.SendStatus(t, cb.String(), report)
	require.Equal(t, 204, res.Status)
	require.Empty(t, recv.firstAnswered(), "the webhook page was still in flight when the report came")
	t.Logf("SMS sent by %s, reported undelivered to %s", sender, other)

	call := tw.WaitCall(t, alicePhone)
	require.Contains(t, call.URL, "incident="+id)
	require.Empty(t, recv.firstAnswered(), "the call did not wait for the webhook page")
	t.Logf("called %s after the report", time.Since(reported).Round(time.Millisecond))
	require.Len(t, tw.Messages(), 1, "the SMS went out once")
	require.Len(t, recv.pages(), 1, "the webhook page went out once")

	var inc *api.IncidentView
	waitWithin(t, "the call is recorded", 10*time.Second, func() bool {
		inc = getIncident(t, replicas[other].base, id)
		return len(pagesSent(inc)) == 3
	})
	var sent []string
	for _, ev := range inc.Timeline {
		if ev.Kind == klaxon.EventPageSent || ev.Kind == klaxon.EventPageFailed {
			sent = append(sent, string(ev.Kind)+" "+ev.Via)
		}
	}
	require.ElementsMatch(t, []string{"page_sent sms", "page_sent webhook", "page_failed sms", "page_sent voice"}, sent)
	require.Len(t, tw.Calls(), 1, "one call")
}
