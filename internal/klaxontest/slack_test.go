package klaxontest

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/slacktest"
	"github.com/klaxonhq/klaxon/notify/slack"
)

// TestSlackChannelMessage: an incident posts one message to its policy's
// channel, with buttons; a press of Acknowledge by a mapped Slack user
// acks as them, the message is updated in place and the thread says so;
// a forged or stale press, and one by an unmapped user, change nothing.
func TestSlackChannelMessage(t *testing.T) {
	fake := slacktest.Start(t)
	h := Start(t, Config{
		Policies: []Policy{{Name: "default", SlackChannel: "C0INCIDENTS", Steps: []Step{{Targets: []string{"user:alice"}}}}},
		Users:    []User{{ID: "alice", Phone: "+15550100001", SlackID: "U0ALICE", Notify: []Rule{SMS(0)}}},
		Slack:    fake,
	})
	body, err := os.ReadFile("testdata/firing-two-alerts.json")
	require.NoError(t, err)
	h.Alertmanager(body)
	h.Phone("+15550100001").ExpectSMS()
	inc := h.OpenIncident("HighErrorRate")

	// The message is posted once, and its place recorded on the incident.
	var msg slacktest.Message
	require.Eventually(t, func() bool {
		if got := h.Incident(inc.ID).Chat; got == nil {
			return false
		}
		msgs := fake.Messages()
		if len(msgs) == 0 {
			return false
		}
		msg = msgs[0]
		return true
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, "C0INCIDENTS", msg.Channel)
	require.Contains(t, msg.Blocks, slack.ActionAck)
	require.Equal(t, &klaxon.Chat{Channel: "C0INCIDENTS", TS: msg.TS}, h.Incident(inc.ID).Chat)

	press := func(user string, at time.Time, secret string) slacktest.Answer {
		return slacktest.Do(t, slacktest.Interaction(t, h.URL+slack.InteractionsPath, secret, at,
			slacktest.Press{UserID: user, UserName: strings.ToLower(user), ActionID: slack.ActionAck, Value: inc.ID, Channel: "C0INCIDENTS", MessageTS: msg.TS}))
	}
	now := h.Clock.Now()
	require.Equal(t, http.StatusUnauthorized, press("U0ALICE", now, "not-the-secret").Status, "forged")
	require.Equal(t, http.StatusUnauthorized, press("U0ALICE", now.Add(-6*time.Minute), fake.SigningSecret).Status, "stale")
	require.Equal(t, klaxon.StateTriggered, h.Incident(inc.ID).State)
	unmapped := press("U0MALLORY", now, fake.SigningSecret)
	require.Equal(t, http.StatusOK, unmapped.Status)
	require.Equal(t, klaxon.StateTriggered, h.Incident(inc.ID).State, "an unmapped user cannot act")

	require.Equal(t, http.StatusOK, press("U0ALICE", now, fake.SigningSecret).Status)
	acked := h.Incident(inc.ID)
	require.Equal(t, klaxon.StateAcknowledged, acked.State)
	require.Equal(t, "alice", acked.AckedBy)
	require.Equal(t, "slack", acked.Timeline[len(acked.Timeline)-1].How)

	// The same message, updated: no Acknowledge button now; the ack in
	// its thread.
	require.Eventually(t, func() bool {
		for _, m := range fake.Messages() {
			if m.TS == msg.TS && m.Updates > 0 && !strings.Contains(m.Blocks, slack.ActionAck) {
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		for _, m := range fake.Messages() {
			if m.ThreadTS == msg.TS && strings.Contains(m.Text, "alice") {
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond)
	var posted int
	for _, m := range fake.Messages() {
		if m.ThreadTS == "" && m.Channel == "C0INCIDENTS" {
			posted++
		}
	}
	require.Equal(t, 1, posted, "one message per incident")
}
