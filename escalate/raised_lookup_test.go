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

// TestUrgencyRaisedLookupStallsTheWalk: the on-call lookup of a step

func TestUrgencyRaisedLookupStallsTheWalk(t *testing.T) {
	alice := klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	bob := klaxon.User{ID: "bob", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}
	dir := raisedDir{users: map[string]klaxon.User{"alice": alice, "bob": bob}, onCall: []string{"alice"}, down: new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{
		{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}, EscalateAfter: 5 * time.Minute},
		{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "bob"}}, EscalateAfter: 5 * time.Minute},
	}}
	r := newRaisedRig(t, dir, p)
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())

	dir.down.Store(true)
	r.raise(time.Minute)
	for at := time.Minute; at <= 6*time.Minute; at += time.Second {
		r.turn(at)
	}
	require.Contains(t, r.ph.got(), "bob/sms", "the second step pages on time, whatever the lookup of the first")
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// TestUrgencyRaisedRetryPagesTwice: the catch-up's lookup (primary, which

func TestUrgencyRaisedRetryPagesTwice(t *testing.T) {
	alice := klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	bob := klaxon.User{ID: "bob", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	dir := raisedDir{users: map[string]klaxon.User{"alice": alice, "bob": bob}, onCall: []string{"alice"}, down: new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{
		{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}, EscalateAfter: 5 * time.Minute},
		{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "bob"}}, EscalateAfter: time.Hour},
	}}
	r := newRaisedRig(t, dir, p)
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())

	dir.down.Store(true)
	r.raise(time.Minute)
	for at := time.Minute; at <= 6*time.Minute; at += time.Second {
		r.turn(at)
	}
	require.Equal(t, 1, countOf(r.ph.got(), "bob/voice"), "bob's step, walked at high urgency, calls him: %v", r.ph.got())
	dir.down.Store(false)
	for at := 6 * time.Minute; at <= 10*time.Minute; at += time.Second {
		r.turn(at)
	}
	got := r.ph.got()
	require.Equal(t, 1, countOf(got, "alice/voice"), "the catch-up calls alice: %v", got)
	require.Equal(t, 1, countOf(got, "bob/voice"), "bob is called once: his step was walked at high urgency: %v", got)
}

// TestUrgencyRaisedLookupDelaysNextStep: as

// TestUrgencyRaisedLookupStallsTheWalk, with the engine's default lookup

func TestUrgencyRaisedLookupDelaysNextStep(t *testing.T) {
	alice := klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	bob := klaxon.User{ID: "bob", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}
	dir := raisedDir{users: map[string]klaxon.User{"alice": alice, "bob": bob}, onCall: []string{"alice"}, down: new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{
		{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}, EscalateAfter: 5 * time.Minute},
		{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "bob"}}, EscalateAfter: 5 * time.Minute},
	}}
	r := newRaisedRig(t, dir, p)
	// The engine's default lookup backoff.
	r.e = escalate.New(r.st, r.ph, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler),
		escalate.Options{Now: r.clk.Now})
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())

	dir.down.Store(true)
	r.raise(time.Minute)
	for at := time.Minute; at <= 5*time.Minute; at += time.Second {
		r.turn(at)
	}
	require.Contains(t, r.ph.got(), "bob/sms", "bob's step is due at 5 minutes and pages then")
}

// TestUrgencyRaisedRetryIgnoresBackoff: the catch-up's lookup fails at 1

func TestUrgencyRaisedRetryIgnoresBackoff(t *testing.T) {
	alice := klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	dir := raisedDir{users: map[string]klaxon.User{"alice": alice}, onCall: []string{"alice"}, down: new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}}}}
	r := newRaisedRig(t, dir, p)
	r.e = escalate.New(r.st, r.ph, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler),
		escalate.Options{Now: r.clk.Now, Retry: escalate.Backoff{First: 10 * time.Second, Max: time.Minute}})
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())
	r.forgetWalked() // the catch-up looks up the steps, as for a header of a version before

	dir.down.Store(true)
	r.raise(time.Minute)
	r.turn(time.Minute)
	failures := func() int {
		evs, err := klaxon.ReadTimeline(r.t.Context(), r.st, r.id)
		require.NoError(t, err)
		n := 0
		for _, ev := range evs {
			if ev.Kind == klaxon.EventLookupFailed {
				n++
			}
		}
		return n
	}
	require.Equal(t, 1, failures())
	inc, err := r.st.Incident(t.Context(), r.id)
	require.NoError(t, err)
	require.NotEmpty(t, inc.Sent)
	at := time.Minute + 2*time.Second
	r.clk.Set(t0.Add(at))
	require.NoError(t, r.e.Delivery(t.Context(), r.id, inc.Sent[0].Notification, true, "delivered"))
	r.turn(at)
	require.Equal(t, 1, failures(), "within the 10s backoff the lookup is not tried again")
}

// TestUrgencyRaisedHeldUpByNextStepLookup: the reverse of

// TestUrgencyRaisedLookupStallsTheWalk. Step 1, alice (a user, no

func TestUrgencyRaisedHeldUpByNextStepLookup(t *testing.T) {
	alice := klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	dir := raisedDir{users: map[string]klaxon.User{"alice": alice}, onCall: []string{"bob"}, down: new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{
		{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "alice"}}, EscalateAfter: 5 * time.Minute},
		{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}, EscalateAfter: 5 * time.Minute},
	}}
	r := newRaisedRig(t, dir, p)
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())

	dir.down.Store(true)
	for at := 4 * time.Minute; at < 6*time.Minute; at += time.Second {
		r.turn(at)
	}
	r.raise(6 * time.Minute)
	for at := 6 * time.Minute; at <= 8*time.Minute; at += time.Second {
		r.turn(at)
	}
	require.Equal(t, []string{"alice/sms", "alice/voice"}, r.ph.got(),
		"the catch-up of step 1 calls alice, whatever the lookup of step 2")
}

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
