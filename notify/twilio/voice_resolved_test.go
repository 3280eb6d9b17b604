package twilio_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
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

	out := r.answer(t, id)
	require.Contains(t, out, "resolved", "the call says the incident is resolved")
	require.NotContains(t, out, "Press 1 to acknowledge", "no menu for a resolved incident")

	out = r.press(t, gatherPath(id), "2")
	require.NotContains(t, out, "Incident "+id+" resolved. Goodbye.", "her key did nothing: it was resolved already")
	require.True(t, strings.Contains(out, "already"), out)
}
