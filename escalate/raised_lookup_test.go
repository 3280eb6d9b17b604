package escalate_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
)

// countOf says how many times s is in list.
func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// TestUrgencyRaisedFallbackWithHighRulesOnly: the steps reach nobody
// (nobody on call in primary) and the fallback, mgr, pages only for high
// urgency (a call): at low urgency the walk ends with "the fallback pages
// nobody". When a critical alert joins, mgr is called, as he would have
// been had the incident been high from the start.
func TestUrgencyRaisedFallbackWithHighRulesOnly(t *testing.T) {
	mgr := klaxon.User{ID: "mgr", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	dir := raisedDir{users: map[string]klaxon.User{"mgr": mgr}, down: new(atomic.Bool), fallback: []string{"mgr"}}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{primaryStep}}
	r := newRaisedRig(t, dir, p)
	r.turn(0)
	require.Empty(t, r.ph.got(), "at low urgency the fallback has no rule")

	r.raise(2 * time.Minute)
	r.turn(2 * time.Minute)
	r.turn(time.Hour)
	require.Equal(t, []string{"mgr/voice"}, r.ph.got(), "the critical incident calls the fallback, as it would have from the start")
}

// TestUrgencyRaisedRetryPagesOnce: the catch-up's lookup (a header
// before Walked, primary, which texted alice) fails when a critical
// alert joins. At 5 minutes the walk pages its next step, bob, at high
// urgency: a text and a call. Once the lookup comes back the catch-up
// calls alice, and not bob again: his step's call went out already.
func TestUrgencyRaisedRetryPagesOnce(t *testing.T) {
	alice := texted("alice")
	bob := texted("bob")
	dir := raisedDir{users: map[string]klaxon.User{"alice": alice, "bob": bob}, onCall: []string{"alice"}, down: new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{
		primaryStep,
		{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "bob"}}, EscalateAfter: time.Hour},
	}}
	r := newRaisedRig(t, dir, p)
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())
	r.forgetWalked() // the catch-up looks up the steps, as for a header of a version before

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

// TestUrgencyRaisedLookupStallsNoStep: on a header before Walked, the
// on-call lookup of a step walked already (primary, which paged alice)
// fails from when a critical alert joins. The raise's catch-up cannot
// look it up, but the walk's next step, bob, a user who needs no lookup,
// is paged when due, at 5 minutes, with a lookup backoff of a second or
// the engine's default (10s doubling to 2m), not at the lookup's next
// try.
func TestUrgencyRaisedLookupStallsNoStep(t *testing.T) {
	for _, tt := range []struct {
		name  string
		retry escalate.Backoff // zero: the engine's default
	}{
		{"a backoff of a second", escalate.Backoff{First: time.Second, Max: time.Second}},
		{"the default backoff", escalate.Backoff{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bob := klaxon.User{ID: "bob", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}
			dir := raisedDir{users: map[string]klaxon.User{"alice": texted("alice"), "bob": bob}, onCall: []string{"alice"}, down: new(atomic.Bool)}
			p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{
				primaryStep,
				{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "bob"}}, EscalateAfter: 5 * time.Minute},
			}}
			r := newRaisedRig(t, dir, p)
			r.over(dir, tt.retry)
			r.turn(0)
			require.Equal(t, []string{"alice/sms"}, r.ph.got())
			r.forgetWalked() // the catch-up looks up the steps, as for a header of a version before

			dir.down.Store(true)
			r.raise(time.Minute)
			for at := time.Minute; at <= 5*time.Minute; at += time.Second {
				r.turn(at)
			}
			require.Contains(t, r.ph.got(), "bob/sms", "bob's step is due at 5 minutes and pages then, whatever the lookup of the first")
		})
	}
}

// TestUrgencyRaisedSplitRuleTextsOnce: alice has a text for low urgency
// and a text and a call for high, as a responder who wants a text either
// way and a call only for high urgency writes it. At low urgency she is
// texted; when a critical alert joins she is called, and not texted
// again: one text and one call, as from a high incident.
func TestUrgencyRaisedSplitRuleTextsOnce(t *testing.T) {
	alice := klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{
		{Via: klaxon.ViaSMS, Urgency: klaxon.UrgencyLow},
		{Via: klaxon.ViaSMS, Urgency: klaxon.UrgencyHigh},
		{Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh},
	}}
	dir := raisedDir{users: map[string]klaxon.User{"alice": alice}, onCall: []string{"alice"}, down: new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}}}}
	r := newRaisedRig(t, dir, p)
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())

	r.raise(time.Minute)
	r.turn(time.Minute)
	r.turn(time.Hour)
	require.Equal(t, []string{"alice/sms", "alice/voice"}, r.ph.got(), "the call is what the walk did not page; the text it did")
}

// TestUrgencyRaisedRetryKeepsBackoff: on a header before Walked, the
// catch-up's lookup fails at 1 minute and is tried again after the
// lookup backoff (10s). A delivery report of alice's text, a command
// that schedules the incident, does not make the engine look up again
// within the backoff.
func TestUrgencyRaisedRetryKeepsBackoff(t *testing.T) {
	alice := texted("alice")
	dir := raisedDir{users: map[string]klaxon.User{"alice": alice}, onCall: []string{"alice"}, down: new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}}}}
	r := newRaisedRig(t, dir, p)
	r.over(dir, escalate.Backoff{First: 10 * time.Second, Max: time.Minute})
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())
	r.forgetWalked() // the catch-up looks up the steps, as for a header of a version before

	dir.down.Store(true)
	r.raise(time.Minute)
	r.turn(time.Minute)
	require.Equal(t, 1, r.count(klaxon.EventLookupFailed))
	inc, err := r.st.Incident(t.Context(), r.id)
	require.NoError(t, err)
	require.NotEmpty(t, inc.Sent)
	at := time.Minute + 2*time.Second
	r.clk.Set(t0.Add(at))
	require.NoError(t, r.e.Delivery(t.Context(), r.id, inc.Sent[0].Notification, true, "delivered"))
	r.turn(at)
	require.Equal(t, 1, r.count(klaxon.EventLookupFailed), "within the 10s backoff the lookup is not tried again")
}

// TestUrgencyRaisedNotHeldUpByNextStepLookup: step 1, alice (a user, no
// lookup), texted her; step 2, schedule primary, is due at 5 minutes,
// and its on-call lookup fails from 4 minutes on. A critical alert
// joins at 6 minutes: alice is called then, whatever step 2's lookup.
func TestUrgencyRaisedNotHeldUpByNextStepLookup(t *testing.T) {
	alice := texted("alice")
	dir := raisedDir{users: map[string]klaxon.User{"alice": alice}, onCall: []string{"bob"}, down: new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{
		{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "alice"}}, EscalateAfter: 5 * time.Minute},
		primaryStep,
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

// TestUrgencyRaisedBothLookupsFailKeepBackoff: on a header before
// Walked (the catch-up looks the steps up), step 1, schedule primary,
// texted alice; step 2, schedule secondary, is due at 5 minutes. Both
// schedules cannot be looked up from when a critical alert joins at 1
// minute. When the catch-up and step 2 fall due together and both
// lookups fail, the incident is looked at again after the lookup
// backoff, not at once and again and again: one lookup_failed, and the
// engine's round ends.
func TestUrgencyRaisedBothLookupsFailKeepBackoff(t *testing.T) {
	r, dir := primaryThenSecondary(t, escalate.Backoff{First: 4 * time.Minute, Max: 4 * time.Minute})
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())
	r.forgetWalked() // the catch-up looks up the steps, as for a header of a version before

	dir.down.Store(true)
	dir.secondaryDown.Store(true)
	r.raise(time.Minute)
	r.turn(time.Minute) // the catch-up fails: put off to 5 minutes, when step 2 is due

	require.Equal(t, 1, r.count(klaxon.EventLookupFailed))

	r.clk.Set(t0.Add(5 * time.Minute))
	// The round must end: a guard on the real clock only against a hang.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := r.e.RunOnce(ctx)
	require.NoError(t, err, "the engine's round ends (lookup_failed %d times)", r.count(klaxon.EventLookupFailed))
	require.Equal(t, 2, r.count(klaxon.EventLookupFailed), "both lookups failed at 5 minutes: one lookup_failed, tried again after the backoff")

	dir.down.Store(false)
	dir.secondaryDown.Store(false)
	r.turn(9 * time.Minute)
	// Step 2 (secondary: alice too) texts and calls her; the catch-up's
	// call is that one.
	require.Equal(t, 1, countOf(r.ph.got(), "alice/voice"), "once the lookups are back alice is called, once: %v", r.ph.got())
}

// primaryThenSecondary is a rig whose policy texts whoever is on call in
// schedule primary (alice) and, five minutes on, in secondary, each of
// which the returned directory can make fail; lookups that fail are
// tried again by retry.
func primaryThenSecondary(t *testing.T, retry escalate.Backoff) (*raisedRig, schedDir) {
	t.Helper()
	dir := schedDir{raisedDir{users: map[string]klaxon.User{"alice": texted("alice")}, onCall: []string{"alice"}, down: new(atomic.Bool)}, new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{
		primaryStep,
		{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "secondary"}}, EscalateAfter: 5 * time.Minute},
	}}
	r := newRaisedRig(t, dir.raisedDir, p)
	r.over(dir, retry)
	return r, dir
}
