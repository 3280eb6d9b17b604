package escalate_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestUrgencyRaisedPreFeatureHeaderCallsFallback: an incident open
// across the upgrade that brought the raise. Under the old version its
// walk reached nobody (nobody on call in primary) and ended on the
// fallback, mgr, mailed at low urgency; that version kept neither
// Incident.Walked nor Escalation.Fallback, only mgr's page of the
// fallback's step (Sent). A critical alert joins after the upgrade: mgr
// is called, as he is for a header written since (reopenEnd reads such a
// header's fallback from its pages too).
func TestUrgencyRaisedPreFeatureHeaderCallsFallback(t *testing.T) {
	mgr := klaxon.User{ID: "mgr", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	dir := raisedDir{users: map[string]klaxon.User{"mgr": mgr}, down: new(atomic.Bool), fallback: []string{"mgr"}}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{primaryStep}}
	r := newRaisedRig(t, dir, p)
	r.turn(0)
	require.Equal(t, []string{"mgr/email"}, r.ph.got(), "the walk reached nobody: the fallback is mailed")
	// Written by the version before the raise: no Walked, no Fallback.
	require.NoError(t, klaxon.Update(t.Context(), r.st, r.group, nil, func(g klaxon.Group) (*klaxon.Commit, error) {
		inc := g.Open.Header()
		inc.Walked, inc.WalkedAll, inc.Escalation.Fallback = nil, false, false
		return &klaxon.Commit{Open: r.id, Incidents: []*klaxon.Incident{inc}}, nil
	}))

	r.raise(2 * time.Minute)
	r.turn(2 * time.Minute)
	r.turn(time.Hour)
	require.Equal(t, []string{"mgr/email", "mgr/voice"}, r.ph.got(), "the fallback the walk ended on is called")
}
