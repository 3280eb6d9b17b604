package escalate_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
)

// TestUrgencyRaisedWalkedSinceUpgradeKeepsEarlierSteps: an incident open
// across the upgrade that brought Incident.Walked. Step 1 texted alice
// under the old version (no Walked); after the upgrade step 2 texts
// bob, and Walked holds bob alone. A critical alert joins: both are
// called, as the walk turned to both.
func TestUrgencyRaisedWalkedSinceUpgradeKeepsEarlierSteps(t *testing.T) {
	r, _ := aliceThenBob(t)
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())
	r.forgetWalked() // written by the version before Walked

	r.turn(5 * time.Minute)
	require.Equal(t, []string{"alice/sms", "bob/sms"}, r.ph.got())

	r.raise(6 * time.Minute)
	r.turn(6 * time.Minute)
	r.turn(7 * time.Minute)
	require.ElementsMatch(t, []string{"alice/sms", "bob/sms", "alice/voice", "bob/voice"}, r.ph.got(),
		"the walk turned to alice and bob: the catch-up calls both")
}

// TestUrgencyRaisedWalkToNobodyCallsNobodyOnCallNow: step 1, schedule
// primary, has nobody on call when it pages; the policy has no fallback,
// and the walk ends having turned to nobody. Later bob comes on call,
// and a critical alert joins: nobody is called, as the walk turned to
// nobody ("not who is on call now").
func TestUrgencyRaisedWalkToNobodyCallsNobodyOnCallNow(t *testing.T) {
	bob := texted("bob")
	on := new(atomic.Pointer[[]string])
	on.Store(&[]string{})
	dir := switchDir{raisedDir{users: map[string]klaxon.User{"bob": bob}, down: new(atomic.Bool)}, on}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{primaryStep}}
	r := newRaisedRig(t, dir.raisedDir, p)
	r.over(dir, escalate.Backoff{First: time.Second, Max: time.Second})
	r.turn(0)
	require.Empty(t, r.ph.got(), "nobody on call, no fallback")
	inc, err := r.st.Incident(t.Context(), r.id)
	require.NoError(t, err)
	require.Empty(t, inc.Walked, "the walk turned to nobody")

	on.Store(&[]string{"bob"}) // the handoff
	r.raise(10 * time.Minute)
	r.turn(10 * time.Minute)
	r.turn(11 * time.Minute)
	require.Empty(t, r.ph.got(), "the walk turned to nobody: the catch-up pages nobody, not whoever is on call now")
}

// TestUrgencyRaisedRemovedUserSaysWhy: steps 1 and 2 texted alice and
// bob; alice is then removed from users.yaml (a reload). A critical
// alert joins: the catch-up calls bob, and the timeline says why alice
// is not paged (nobody_paged: unknown user alice).
func TestUrgencyRaisedRemovedUserSaysWhy(t *testing.T) {
	r, dir := aliceThenBob(t)
	r.turn(0)
	r.turn(5 * time.Minute)
	require.Equal(t, []string{"alice/sms", "bob/sms"}, r.ph.got())

	delete(dir.users, "alice") // users.yaml reloaded without her
	r.raise(6 * time.Minute)
	r.turn(6 * time.Minute)
	r.turn(7 * time.Minute)
	require.Equal(t, []string{"alice/sms", "bob/sms", "bob/voice"}, r.ph.got(), "bob, who is still a user, is called")

	evs, err := klaxon.ReadTimeline(t.Context(), r.st, r.id)
	require.NoError(t, err)
	said := false
	for _, ev := range evs {
		if !ev.At.Before(t0.Add(6*time.Minute)) && strings.Contains(ev.Text, "unknown user alice") {
			said = true
		}
	}
	require.True(t, said, "the timeline says why the catch-up left alice out")
}

// aliceThenBob is a rig whose policy texts alice at step 1 and, five
// minutes on, bob at step 2 (users who are texted for any urgency and
// called for high).
func aliceThenBob(t *testing.T) (*raisedRig, raisedDir) {
	t.Helper()
	dir := raisedDir{users: map[string]klaxon.User{"alice": texted("alice"), "bob": texted("bob")}, down: new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{
		{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "alice"}}, EscalateAfter: 5 * time.Minute},
		{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "bob"}}, EscalateAfter: time.Hour},
	}}
	return newRaisedRig(t, dir, p), dir
}
