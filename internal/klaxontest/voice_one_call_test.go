package klaxontest_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/klaxontest"
)

// TestOneCallAtATimePerPerson: in a storm, a call to alice is not placed
// while she is still on the last one. A page call lasts past the minute
// of notify.limits.voice (it rings up to a minute, then reads a summary
// of up to 500 characters, twice, with the menu); a second call placed
// meanwhile rings busy or as call waiting over the first, and Twilio
// reports it busy or unanswered: counted not reached, it moves alice on
// to her next rule, and the incident she was listening to is cut off.
// The next call goes once the first has ended.
func TestOneCallAtATimePerPerson(t *testing.T) {
	h := klaxontest.Start(t, voiceOnly())
	ids := stormOf(t, h, 2)
	alice := h.Phone(alicePhone)
	h.FastForward(time.Minute)
	first := alice.ExpectCall()

	// She answers and listens.
	got := h.Twilio.Post(t, first.URL, url.Values{"AccountSid": {h.Twilio.AccountSID}, "CallSid": {first.SID},
		"CallStatus": {"in-progress"}, "Direction": {"outbound-api"}, "To": {alicePhone}, "From": {first.From}, "AnsweredBy": {"human"}}, "")
	require.Equal(t, http.StatusOK, got.Status, got.Body)
	h.FastForward(time.Minute)
	require.Len(t, h.Twilio.Calls(), 1, "a second call placed while alice is on the first")

	// The first call ends: the next goes.
	got = h.Twilio.SendStatus(t, first.StatusCallback, url.Values{"CallSid": {first.SID}, "CallStatus": {"completed"},
		"AnsweredBy": {"human"}, "To": {alicePhone}})
	require.Equal(t, http.StatusNoContent, got.Status, got.Body)
	h.FastForward(time.Minute)
	second := alice.ExpectCall()
	require.NotEqual(t, callIncident(t, first.URL), callIncident(t, second.URL))
	for _, id := range ids {
		code, out := h.Do(http.MethodPost, "/v1/incidents/"+id+"/resolve", map[string]string{"by": "alice"})
		require.Equal(t, http.StatusOK, code, "%s", out)
	}
}
