package escalate_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
)

// TestNobodyWalkedOneRound: a walk whose steps all reach nobody (a gap
// in every schedule, at night) ends after one round of them, however
// many rounds its policy repeats: the next rounds would look the same
// schedules up at the same instant, and reach nobody again. Before, it
// walked every round at once, two timeline events a step: a policy with
// repeat: 1000 wrote 4,000 events in one commit, each time it triggered.
func TestNobodyWalkedOneRound(t *testing.T) {
	gap := klaxon.Policy{Name: "gap", Repeat: 1000, Steps: []klaxon.Step{scheduleStep("primary"), scheduleStep("secondary")}}
	inc := newIncident(gap)
	_, err := escalate.Walk(inc, t0, onCall(nil), nil)
	require.NoError(t, err)
	require.Equal(t, 5, len(inc.Recorded), "one round of two steps, then the end")
	require.Equal(t, []klaxon.EventKind{
		klaxon.EventEscalated, klaxon.EventNobodyPaged, klaxon.EventEscalated, klaxon.EventNobodyPaged, klaxon.EventExhausted,
	}, kindsOf(inc.Recorded))
	require.True(t, inc.Escalation.Done)
}

// TestRepeatWithoutEndPages: a policy that repeats as good as forever
// (repeat: 9223372036854775807) pages its first step. Before, the
// walk's bound on its steps, steps × (repeat + 1), overflowed to a
// negative count: the walk ended at once, having paged nobody.
func TestRepeatWithoutEndPages(t *testing.T) {
	p := klaxon.Policy{Name: "forever", Repeat: math.MaxInt, Steps: []klaxon.Step{userStep("alice"), userStep("bob")}}
	inc := newIncident(p)
	escalate.Advance(inc, t0, users)
	require.Equal(t, []string{"alice/sms", "alice/voice", "alice/email"}, pendingUsers(inc))
	require.False(t, inc.Escalation.Done)
	require.Equal(t, t0.Add(5*time.Minute), inc.Escalation.NextAt, "bob's step next")
}

// TestNobodyRoundEndSaysWhy: a walk that ends because a round of its
// steps reached nobody, its policy's rounds not all walked, says so: not
// that every step was walked as many times as it was when the round
// ended (once, of a policy that repeats 1000 times), which reads as a
// policy that gave up early.
func TestNobodyRoundEndSaysWhy(t *testing.T) {
	gap := klaxon.Policy{Name: "gap", Repeat: 1000, Steps: []klaxon.Step{scheduleStep("primary"), scheduleStep("secondary")}}
	inc := newIncident(gap)
	_, err := escalate.Walk(inc, t0, onCall(nil), nil)
	require.NoError(t, err)
	last := inc.Recorded[len(inc.Recorded)-1]
	require.Equal(t, klaxon.EventExhausted, last.Kind)
	require.Equal(t, "a round of steps reached nobody, as its next rounds would at once: the walk ends, nobody paged; no fallback is set", last.Text)
}
