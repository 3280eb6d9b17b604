package escalate_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
)

// TestUrgencyRaisedAfterHandoffCallsWhomTheStepPaged: step 1 is
// schedule primary, with an hour to wait. At 0 alice is on call and is
// texted. At 10 minutes primary hands off to bob. A critical alert joins
// at 12 minutes. Had the incident been high from the start, step 1
// would have texted and called alice, and nobody else: the catch-up is
// of "the people of the steps walked so far", by "what the walk would
// have paged by now ... and did not". But catchUp looks the step's
// targets up again, at the raise: it calls bob, whom the walk never
// paged (and only by his rule for high urgency: no text tells him what
// the call is about), and never calls alice, who holds the incident.
func TestUrgencyRaisedAfterHandoffCallsWhomTheStepPaged(t *testing.T) {
	alice := klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	bob := klaxon.User{ID: "bob", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	on := new(atomic.Pointer[[]string])
	on.Store(&[]string{"alice"})
	dir := switchDir{raisedDir{users: map[string]klaxon.User{"alice": alice, "bob": bob}, down: new(atomic.Bool)}, on}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}, EscalateAfter: time.Hour}}}
	r := newRaisedRig(t, dir.raisedDir, p)
	r.e = newSwitchEngine(r, dir)
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())

	on.Store(&[]string{"bob"}) // the handoff
	r.raise(12 * time.Minute)
	r.turn(12 * time.Minute)
	r.turn(13 * time.Minute)
	require.Equal(t, []string{"alice/sms", "alice/voice"}, r.ph.got(),
		"the step texted alice: the catch-up calls her, as the step would have at high urgency")
}

// TestUrgencyRaisedAfterHandEscalationCallsOnlyTheNewWalk: alice
// (step 1) is texted and acknowledges; she escalates by hand to step 2,
// bob: the incident triggers again and a new walk begins there
// (Trigger: WalkFrom), which texts bob. A critical alert joins. The
// new walk turned to bob alone, as TestStaleFallbackCaughtUpAfterHand-
// Escalation has it for the fallback ("a raise called a fallback the
// walk never turned to"); but catchUp takes steps 1 to Escalation.Step,
// which a hand's escalation carries over from the walk before, and
// calls alice too, whom this walk never paged (pagedBy looks at its
// pages only, so her call is not taken for one she had).
func TestUrgencyRaisedAfterHandEscalationCallsOnlyTheNewWalk(t *testing.T) {
	alice := klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	bob := klaxon.User{ID: "bob", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	dir := raisedDir{users: map[string]klaxon.User{"alice": alice, "bob": bob}, down: new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{
		{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "alice"}}, EscalateAfter: 30 * time.Minute},
		{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "bob"}}, EscalateAfter: 30 * time.Minute},
	}}
	r := newRaisedRig(t, dir, p)
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())

	r.clk.Set(t0.Add(time.Minute))
	_, err := r.e.Acknowledge(t.Context(), r.id, klaxon.Actor{By: "alice", How: "api"})
	require.NoError(t, err)
	r.clk.Set(t0.Add(2 * time.Minute))
	_, err = r.e.Escalate(t.Context(), r.id, klaxon.Actor{By: "alice", How: "api"})
	require.NoError(t, err)
	r.turn(2 * time.Minute)
	require.Equal(t, []string{"alice/sms", "bob/sms"}, r.ph.got())

	r.raise(3 * time.Minute)
	r.turn(3 * time.Minute)
	r.turn(4 * time.Minute)
	require.Equal(t, []string{"alice/sms", "bob/sms", "bob/voice"}, r.ph.got(),
		"the new walk turned to bob alone: the catch-up calls him, not alice")
}

// TestUrgencyRaisedFallbackCallIsTheFallbacks: the steps reach nobody
// and the walk ends on its fallback, mgr, mailed at low urgency (a page
// of step FallbackStep: the console says "(fallback)", the review
// "fallback"). The critical alert's catch-up calls mgr; but notifyIf
// numbers every page of the catch-up as the current step's, and the
// timeline, the console, the Slack thread ("page sent to mgr by voice
// (step 1)") and the review say step 1 called mgr, who is in no step.
func TestUrgencyRaisedFallbackCallIsTheFallbacks(t *testing.T) {
	mgr := klaxon.User{ID: "mgr", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	dir := raisedDir{users: map[string]klaxon.User{"mgr": mgr}, down: new(atomic.Bool), fallback: []string{"mgr"}}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}, EscalateAfter: 5 * time.Minute}}}
	r := newRaisedRig(t, dir, p)
	r.turn(0)
	r.raise(2 * time.Minute)
	r.turn(2 * time.Minute)
	require.Equal(t, []string{"mgr/email", "mgr/voice"}, r.ph.got())

	evs, err := klaxon.ReadTimeline(t.Context(), r.st, r.id)
	require.NoError(t, err)
	steps := map[string]int{}
	for _, ev := range evs {
		if ev.Kind == klaxon.EventPageSent && ev.Step != nil {
			steps[ev.User+"/"+ev.Via] = *ev.Step
		}
	}
	require.Equal(t, map[string]int{"mgr/email": escalate.FallbackStep, "mgr/voice": escalate.FallbackStep}, steps,
		"both of mgr's pages are the fallback's")
}

// schedDir is raisedDir whose schedules each go down on their own:
// primary while down is set, secondary while secondaryDown is.
type schedDir struct {
	raisedDir
	secondaryDown *atomic.Bool
}

func (d schedDir) OnCall(ctx context.Context, name string, at time.Time) ([]string, error) {
	if name == "secondary" && d.secondaryDown.Load() {
		return nil, errors.New("overrides of secondary: store shard unreachable")
	}
	return d.raisedDir.OnCall(ctx, name, at)
}

// TestUrgencyRaisedCatchUpHeldUpByStepBackoff: on a header that kept
// no Walked (the catch-up looks the steps up): step 1, schedule
// primary, texted alice; step 2, schedule secondary, is due at 5
// minutes, and secondary cannot be looked up. A critical alert joins at
// 1 minute while primary cannot be looked up either: the catch-up fails
// and is put off, again and again, with the engine's lookup backoff
// (10s doubling to 2m): its last try, at 3m30s, puts it off to 5m30s
// (RaiseDue). Primary is back at 4 minutes. At 5 minutes step 2's
// lookup fails: fire schedules the incident at that lookup's retry, 7
// minutes, and not at RaiseDue, which it leaves out of the timer: the
// catch-up that could call alice at 5m30s waits for step 2's backoff.
// The README: "nor does a step's failing lookup hold it up".
func TestUrgencyRaisedCatchUpHeldUpByStepBackoff(t *testing.T) {
	alice := klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	dir := schedDir{raisedDir{users: map[string]klaxon.User{"alice": alice}, onCall: []string{"alice"}, down: new(atomic.Bool)}, new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{
		{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}, EscalateAfter: 5 * time.Minute},
		{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "secondary"}}, EscalateAfter: 5 * time.Minute},
	}}
	r := newRaisedRig(t, dir.raisedDir, p)
	// The engine's default lookup backoff.
	r.e = escalate.New(r.st, r.ph, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler),
		escalate.Options{Now: r.clk.Now})
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())
	r.forgetWalked() // the catch-up looks up the steps, as for a header of a version before

	dir.down.Store(true)
	dir.secondaryDown.Store(true)
	r.raise(time.Minute)
	for at := time.Minute; at < 4*time.Minute; at += time.Second {
		r.turn(at)
	}
	require.Equal(t, []string{"alice/sms"}, r.ph.got(), "primary is down: the catch-up waits")
	dir.down.Store(false) // primary is back; secondary is not
	for at := 4 * time.Minute; at <= 6*time.Minute; at += time.Second {
		r.turn(at)
	}
	require.Equal(t, []string{"alice/sms", "alice/voice"}, r.ph.got(),
		"the catch-up, put off to 5m30s, calls alice then, whatever step 2's lookup")
}
