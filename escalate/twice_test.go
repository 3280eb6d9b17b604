package escalate_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
)

// TestSecondEscalationKeepsFirstStepsPage: two escalations that both
// land before the engine has sent the first one's page (two responders
// press escalate at once; in a storm a page takes 100 ms and more to go
// out after its escalation) each page their step. The first escalated
// to bob (step 2): bob is paged, as the timeline says he was escalated
// to, before the second starts the policy over with alice. Before, the
// second dropped bob's page, and bob heard of the incident only
// escalate_after later, from the timer.
func TestSecondEscalationKeepsFirstStepsPage(t *testing.T) {
	clk := fakeclock.New(t0)
	st, ph, e := newEngine(t, escalate.Options{Now: clk.Now})
	ctx := t.Context()
	id := openIncident(t, st, twoSteps, t0)
	_, err := e.RunOnce(ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"alice/sms", "alice/email"}, ph.got())

	clk.Set(t0.Add(10 * time.Second))
	_, err = e.Escalate(ctx, id, klaxon.Actor{By: "alice", How: "sms"})
	require.NoError(t, err)
	inc, err := e.Escalate(ctx, id, klaxon.Actor{By: "ops", How: "api"})
	require.NoError(t, err)
	require.Equal(t, 0, inc.Escalation.Step, "the second escalation started the policy over")
	require.Equal(t, 1, inc.Escalation.Round)

	_, err = e.RunOnce(ctx)
	require.NoError(t, err)
	timeline, err := klaxon.ReadTimeline(ctx, st, id)
	require.NoError(t, err)
	var steps []int
	for _, ev := range timeline {
		if ev.Kind == klaxon.EventEscalated && ev.By != "" && ev.Step != nil {
			steps = append(steps, *ev.Step)
		}
	}
	t.Logf("escalations by hand to steps %v; pages %v", steps, ph.got())
	require.Contains(t, ph.got()[2:], "bob/email", "bob, whom the first escalation paged, was never paged")
}
