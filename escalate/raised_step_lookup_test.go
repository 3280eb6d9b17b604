package escalate_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestUrgencyRaisedHeldUpByNextStepLookup: the reverse of
// TestUrgencyRaisedLookupStallsTheWalk. Step 1, alice (a user, no
// lookup), texted her; step 2, schedule primary, is due at 5 minutes,
// and its on-call lookup fails from 4 minutes on. A critical alert
// joins at 6 minutes: the catch-up needs only step 1's people, and
// alice's rule for high urgency would call her. But Walk returns the
// step's lookup error before it tries the catch-up, and fire drops the
// whole walk: as long as primary cannot be looked up, nobody is called
// for the critical incident.
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
