package klaxontest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/klaxontest"
	"github.com/klaxonhq/klaxon/internal/twiliotest"
)

// voiceOnly pages alice by a call a minute into a page, one step that
// waits an hour.
func voiceOnly() klaxontest.Config {
	return klaxontest.Config{
		Policies: []klaxontest.Policy{{Name: "oncall", Steps: []klaxontest.Step{
			{Targets: []string{"user:alice"}, EscalateAfter: time.Hour},
		}}},
		Users: []klaxontest.User{{ID: "alice", Name: "Alice Chen", Phone: alicePhone, Notify: []klaxontest.Rule{klaxontest.Voice(time.Minute)}}},
	}
}

// stormOf opens n incidents, alertnames Storm0..Storm(n-1), in order.
func stormOf(t *testing.T, h *klaxontest.Harness, n int) []string {
	var ids []string
	for i := range n {
		body := fmt.Sprintf(`{"receiver":"klaxon","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"Storm%d","service":"payments","severity":"critical"},"annotations":{"summary":"storm %d"},"startsAt":"2026-11-23T23:26:07Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"%016x"}],"version":"4"}`, i, i, i+1)
		h.Alertmanager([]byte(body))
		ids = append(ids, h.OpenIncident(fmt.Sprintf("Storm%d", i)).ID)
	}
	return ids
}

// endCall reports call c completed, answered by alice, as Twilio does.
func endCall(t *testing.T, h *klaxontest.Harness, c twiliotest.Call) {
	t.Helper()
	got := h.Twilio.SendStatus(t, c.StatusCallback, url.Values{"CallSid": {c.SID}, "CallStatus": {"completed"},
		"AnsweredBy": {"human"}, "To": {c.To}})
	require.Equal(t, http.StatusNoContent, got.Status, got.Body)
}

func callIncident(t *testing.T, u string) string {
	p, err := url.Parse(u)
	require.NoError(t, err)
	return p.Query().Get("incident")
}

// TestVoiceStormCallsInOrder: six incidents each call alice a minute in;
// the calls wait one a minute each (notify.limits), each once. The first
// goes at once, whichever incident's page comes first; the ones that
// waited then go the first incident first, as an SMS bundle names the
// first first: a waiting call is not overtaken by a later incident's,
// or in a storm that goes on the first incident's call might never come.
// Each call ends (Twilio reports it) before the next is due: a call is
// not placed while alice is on the last one (TestOneCallAtATimePerPerson).
func TestVoiceStormCallsInOrder(t *testing.T) {
	h := klaxontest.Start(t, voiceOnly())
	ids := stormOf(t, h, 6)
	alice := h.Phone(alicePhone)
	var got []string
	h.FastForward(time.Minute)
	for range ids {
		c := alice.ExpectCall()
		got = append(got, callIncident(t, c.URL))
		endCall(t, h, c)
		h.FastForward(time.Minute)
	}
	h.FastForward(10 * time.Minute)
	require.ElementsMatch(t, ids, got, "one call a minute, each once")
	waited := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == got[0] })
	require.Equal(t, waited, got[1:], "the calls that waited, oldest incident first")
	for _, id := range ids {
		code, out := h.Do(http.MethodPost, "/v1/incidents/"+id+"/resolve", map[string]string{"by": "alice"})
		require.Equal(t, http.StatusOK, code, "%s", out)
	}
}
