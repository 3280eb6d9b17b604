package escalate_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
)

// TestUrgencyRaisedBothLookupsFailKeepBackoff: on a header before
// Walked (the catch-up looks the steps up), step 1, schedule primary,
// texted alice; step 2, schedule secondary, is due at 5 minutes. Both
// schedules cannot be looked up from when a critical alert joins at 1
// minute. When the catch-up and step 2 fall due together and both
// lookups fail, the incident is looked at again after the lookup
// backoff, not at once and again and again: one lookup_failed, and the
// engine's round ends.
func TestUrgencyRaisedBothLookupsFailKeepBackoff(t *testing.T) {
	alice := texted("alice")
	dir := schedDir{raisedDir{users: map[string]klaxon.User{"alice": alice}, onCall: []string{"alice"}, down: new(atomic.Bool)}, new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{
		primaryStep,
		{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "secondary"}}, EscalateAfter: 5 * time.Minute},
	}}
	r := newRaisedRig(t, dir.raisedDir, p)
	r.e = escalate.New(r.st, r.ph, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler),
		escalate.Options{Now: r.clk.Now, Retry: escalate.Backoff{First: 4 * time.Minute, Max: 4 * time.Minute}})
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())
	r.forgetWalked() // the catch-up looks up the steps, as for a header of a version before

	dir.down.Store(true)
	dir.secondaryDown.Store(true)
	r.raise(time.Minute)
	r.turn(time.Minute) // the catch-up fails: put off to 5 minutes, when step 2 is due

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

	r.clk.Set(t0.Add(5 * time.Minute))
	// The round must end: a guard on the real clock only against a hang.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := r.e.RunOnce(ctx)
	require.NoError(t, err, "the engine's round ends (lookup_failed %d times)", failures())
	require.Equal(t, 2, failures(), "both lookups failed at 5 minutes: one lookup_failed, tried again after the backoff")

	dir.down.Store(false)
	dir.secondaryDown.Store(false)
	r.turn(9 * time.Minute)
	// Step 2 (secondary: alice too) texts and calls her; the catch-up's
	// call is that one.
	require.Equal(t, 1, countOf(r.ph.got(), "alice/voice"), "once the lookups are back alice is called, once: %v", r.ph.got())
}
