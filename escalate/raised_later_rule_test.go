package escalate_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestUrgencyRaisedCallWaitsForLowRule: alice is texted at once, called
// after 10 minutes at low urgency and at once at high, as a responder
// writes "call me at once when it is critical". At low urgency the walk
// texts her and her call waits in the outbox, due at 10 minutes. A
// critical alert joins at 1 minute: had the incident been high from the
// start, she would have been called at once (notify keeps the earlier
// due of a person's page by one contact method). The catch-up skips her
// rule for high urgency because a call by the low rule is pending
// (pagedBy), and leaves it due at 10 minutes: the critical incident
// calls her 9 minutes late.
func TestUrgencyRaisedCallWaitsForLowRule(t *testing.T) {
	alice := klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{
		{Via: klaxon.ViaSMS},
		{Via: klaxon.ViaVoice, After: 10 * time.Minute, Urgency: klaxon.UrgencyLow},
		{Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh},
	}}
	dir := raisedDir{users: map[string]klaxon.User{"alice": alice}, down: new(atomic.Bool)}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "alice"}}, EscalateAfter: time.Hour}}}
	r := newRaisedRig(t, dir, p)
	r.turn(0)
	require.Equal(t, []string{"alice/sms"}, r.ph.got())

	r.raise(time.Minute)
	r.turn(time.Minute)
	r.turn(2 * time.Minute)
	require.Equal(t, []string{"alice/sms", "alice/voice"}, r.ph.got(), "at high urgency her call is at once")
}
