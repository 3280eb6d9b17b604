package klaxontest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/klaxontest"
	"github.com/klaxonhq/klaxon/internal/slacktest"
)

// TestSlackDMAfterStormAcked: a storm of incidents pages alice by Slack
// DM; Slack answers one page 429 (Retry-After 30 s), so the storm's
// pages wait, a second each. She acknowledges every incident of the
// storm within seconds: none of their pages goes. A minute later a new
// incident pages her: her DM has been idle since the pause ended half a
// minute before, and its page reaches her within a few seconds, not
// after the seconds booked for the storm's withdrawn pages.
func TestSlackDMAfterStormAcked(t *testing.T) {
	const storm = 120
	fake := slacktest.Start(t)
	fake.AddUser("U0ALICE", "alice")
	h := klaxontest.Start(t, klaxontest.Config{
		Policies: []klaxontest.Policy{{Name: "oncall", Steps: []klaxontest.Step{
			{Targets: []string{"user:alice"}, EscalateAfter: time.Hour},
		}}},
		Users: []klaxontest.User{{ID: "alice", Name: "Alice Chen", SlackID: "U0ALICE", Notify: []klaxontest.Rule{{Via: "slack"}}}},
		Slack: fake,
	})
	dms := func(text string) int {
		n := 0
		for _, m := range fake.Messages() {
			if strings.HasPrefix(m.Channel, "D") && strings.Contains(m.Text, text) {
				n++
			}
		}
		return n
	}
	fire := func(name, summary string) string {
		body := fmt.Sprintf(`{"receiver":"klaxon","status":"firing","alerts":[{"status":"firing","labels":{"alertname":%q,"service":"payments","severity":"critical"},"annotations":{"summary":%q},"startsAt":"2026-11-23T23:26:07Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"%x"}],"version":"4"}`,
			name, summary, name)
		h.Alertmanager([]byte(body))
		id := h.OpenIncident(name).ID
		h.FastForward(0)
		return id
	}

	fire("Before", "before the storm")
	require.Eventually(t, func() bool { return dms("before the storm") == 1 }, 10*time.Second, 10*time.Millisecond)

	fake.RateLimit(1, 30*time.Second)
	var ids []string
	for i := range storm {
		ids = append(ids, fire(fmt.Sprintf("Storm%d", i), fmt.Sprintf("storm number %d", i)))
	}
	h.FastForward(5 * time.Second)
	require.Zero(t, dms("storm number"), "the storm's pages wait out Slack's pause")
	for _, id := range ids {
		code, out := h.Do(http.MethodPost, "/v1/incidents/"+id+"/ack", map[string]string{"by": "alice"})
		require.Equal(t, http.StatusOK, code, "%s", out)
	}

	h.FastForward(time.Minute)
	fire("Fresh", "a new incident")
	for range 5 {
		h.FastForward(time.Second)
	}
	require.Eventually(t, func() bool { return dms("a new incident") == 1 }, 5*time.Second, 10*time.Millisecond,
		"a new incident's page to an idle DM waits behind the withdrawn pages of a storm acknowledged a minute ago")
	require.Zero(t, dms("storm number"), "an acknowledged incident's page went")
}
