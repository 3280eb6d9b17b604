package klaxontest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/klaxontest"
)

// TestStormIsBundledOnTime: 50 incidents open at once; alice gets one
// SMS at once, then, on Klaxon's clock, nothing until the SMS limit (a
// minute by default) has passed, and then one bundle of the incidents
// that waited, a limit apart, until every incident is in one. This is
// cmd/klaxon's TestStormIsBundled on a clock the test moves: there the
// SMS are timed as the fake Twilio takes them, which a loaded machine
// delays by a varying moment after Klaxon sent them.
func TestStormIsBundledOnTime(t *testing.T) {
	const storm, limit = 50, time.Minute
	h := klaxontest.Start(t, klaxontest.Config{
		Policies: []klaxontest.Policy{{Name: "oncall", Steps: []klaxontest.Step{
			{Targets: []string{"user:alice"}, EscalateAfter: time.Hour},
		}}},
		Users: []klaxontest.User{{ID: "alice", Phone: alicePhone, Notify: []klaxontest.Rule{klaxontest.SMS(0)}}},
	})
	for i := range storm {
		h.Alertmanager(fmt.Appendf(nil, `{"receiver":"klaxon","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"DiskFull%02d","severity":"critical"},"annotations":{"summary":"disk full %02d"},"startsAt":"2026-11-23T23:26:07Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"eaf09244f2c300%02d"}],"version":"4"}`, i, i, i))
	}
	h.FastForward(0)
	alice := h.Phone(alicePhone)
	alice.ExpectSMS()

	bundled := 0
	for bundled < storm-1 {
		h.FastForward(limit - time.Second)
		require.Empty(t, h.Twilio.Untaken(), "an SMS before the limit had passed")
		h.FastForward(time.Second)
		m := alice.ExpectSMS("incidents for alice")
		var n int
		_, err := fmt.Sscanf(m.Body, "%d incidents for alice", &n)
		require.NoError(t, err, m.Body)
		require.LessOrEqual(t, len(m.Body), 160)
		bundled += n
	}
	require.Equal(t, storm-1, bundled, "the bundles stand for every incident after the first, once each")
	h.FastForward(2 * limit) // nothing more: the harness fails on an SMS nobody took
}
