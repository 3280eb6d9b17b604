package twilio_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// TestCallOfIncidentResolvedMeanwhile: a call placed for an incident that
// someone resolved before alice answered tells her so, as an SMS reply
// does ("#41 is resolved already: nothing was done"), rather than
// paging her for it and offering a menu; and a 2 pressed on it does not
// answer "resolved" as if her key had done it.
func TestCallOfIncidentResolvedMeanwhile(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0})
	_, err := r.Engine.Act(t.Context(), klaxon.ActionResolve, id, klaxon.Actor{By: "carol", How: "api"})
	require.NoError(t, err)

	call := url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "AnsweredBy": {"human"}}
	code, out := r.post(t, twilio.VoicePath+"?incident="+id+"&n=1", call, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Contains(t, out, "resolved", "the call says the incident is resolved")
	require.NotContains(t, out, "Press 1 to acknowledge", "no menu for a resolved incident")

	press := url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "Digits": {"2"}}
	code, out = r.post(t, twilio.VoicePath+"?incident="+id+"&n=1&step=gather", press, "")
	require.Equal(t, http.StatusOK, code, out)
	require.NotContains(t, out, "Incident "+id+" resolved. Goodbye.", "her key did nothing: it was resolved already")
	require.True(t, strings.Contains(out, "already"), out)
}
