package twilio_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
)

// TestCallOfIncidentAcknowledgedMeanwhile: a call placed for an incident
// that carol acknowledged before alice answered tells alice who has it,
// and offers no key to acknowledge it; a 1 pressed anyway does not answer
// "acknowledged" as if her key had done it, and the timeline keeps carol
// as the one who acknowledged. Resolving still works, as alice.
func TestCallOfIncidentAcknowledgedMeanwhile(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0})
	_, err := r.Engine.Act(t.Context(), klaxon.ActionAck, id, klaxon.Actor{By: "carol", How: "api"})
	require.NoError(t, err)

	out := r.answer(t, id)
	require.Contains(t, out, "acknowledged by carol", "the call says who has the incident")
	require.NotContains(t, out, "Press 1 to acknowledge", "no key to acknowledge what is acknowledged")
	require.Contains(t, out, "2 to resolve")

	out = r.press(t, gatherPath(id), "1")
	require.NotContains(t, out, "Incident "+id+" acknowledged. Goodbye.", "her key did nothing: carol has it")
	require.Contains(t, out, "acknowledged already, by carol")
	require.Equal(t, "carol", r.Incident(t, id).AckedBy)

	require.Contains(t, r.press(t, gatherPath(id), "2"), "Incident "+id+" resolved. Goodbye.")
	inc := r.Incident(t, id)
	require.Equal(t, klaxon.StateResolved, inc.State)
	require.Equal(t, "alice", inc.ResolvedBy)
}

// TestCallAcknowledgesAgainUnderAckTimeout: under a policy with an
// ack_timeout, acknowledging an incident acknowledged already restarts
// the timeout and names who acknowledged last (the README's
// Acknowledgement; see incident.Acknowledge), by whatever channel. A 1
// pressed on a call about an incident carol acknowledged a minute
// before does for alice what an SMS reply does: she has it, the
// timeline says she acknowledged it again, and the call says so.
func TestCallAcknowledgesAgainUnderAckTimeout(t *testing.T) {
	for _, how := range []string{"sms", "voice"} {
		t.Run(how, func(t *testing.T) {
			r := newRig(t)
			require.Positive(t, incidenttest.Policy.AckTimeout)
			id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0})
			_, err := r.Engine.Act(t.Context(), klaxon.ActionAck, id, klaxon.Actor{By: "carol", How: "api"})
			require.NoError(t, err)
			r.Clock.Add(time.Minute)

			if how == "sms" {
				r.sms(t, "SM"+strings.Repeat("a", 32), id+"A")
			} else {
				require.Contains(t, r.press(t, gatherPath(id), "1"), "Incident "+id+" acknowledged. Goodbye.")
			}
			inc := r.Incident(t, id)
			require.Equal(t, "alice", inc.AckedBy)
			require.Equal(t, t0.Add(time.Minute), inc.AckedAt, "the ack timeout restarts")
			require.Equal(t, 1, r.Store.CountEvents(t, id, func(e klaxon.Event) bool { return e.By == "alice" && e.Again() }))
		})
	}
}
