package escalate_test

import (
	"slices"
	"testing"
	"testing/synctest"
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

// TestSecondEscalationKeepsFirstStepsBusyPage: as above, in a storm: the
// SMS channel is busy (its one slot held by another incident's page), so
// the first escalation's page to sms3 is put off a second. It came due:
// a second escalation within that second keeps it, as it would a page
// due and not yet sent.
func TestSecondEscalationKeepsFirstStepsBusyPage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		s := &stuckSMS{entered: make(chan string, 16), release: make(chan struct{})}
		e, stop := startEngine(t, st, s, smsUsers(), escalate.Options{PerChannel: 1})
		t.Cleanup(func() { s.free(); _ = stop() })
		ctx := t.Context()

		openIncident(t, st, oneStep("sms1"), time.Now())
		e.Wake()
		<-s.entered // sms1's SMS holds the one SMS slot

		policy := klaxon.Policy{Name: "p", Repeat: 1, Steps: []klaxon.Step{
			{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "sms2"}}, EscalateAfter: time.Hour},
			{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "sms3"}}, EscalateAfter: time.Hour},
		}}
		id := openIncident(t, st, policy, time.Now())
		e.Wake()
		time.Sleep(time.Second)
		synctest.Wait()

		_, err := e.Escalate(ctx, id, klaxon.Actor{By: "alice", How: "sms"}) // to sms3
		require.NoError(t, err)
		putOff := false
		for range 200 {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			inc, err := st.Incident(ctx, id)
			require.NoError(t, err)
			putOff = slices.ContainsFunc(inc.Pending, func(n klaxon.Notification) bool { return n.User == "sms3" && n.PutOff })
			if putOff {
				break
			}
		}
		require.True(t, putOff, "sms3's page was put off: the channel is busy")
		_, err = e.Escalate(ctx, id, klaxon.Actor{By: "ops", How: "api"}) // back to sms2
		require.NoError(t, err)

		s.free()
		time.Sleep(time.Minute)
		synctest.Wait()
		require.NoError(t, stop())
		require.Contains(t, s.got(), "sms3/sms", "sms3, whom the first escalation paged, is paged")
	})
}
