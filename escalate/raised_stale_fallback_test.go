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

// switchDir is raisedDir whose on-call list can change.
type switchDir struct {
	raisedDir
	on *atomic.Pointer[[]string]
}

func (d switchDir) OnCall(context.Context, string, time.Time) ([]string, error) {
	return *d.on.Load(), nil
}

// newSwitchEngine is r's engine over dir.
func newSwitchEngine(r *raisedRig, dir switchDir) *escalate.Engine {
	return escalate.New(r.st, r.ph, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler),
		escalate.Options{Now: r.clk.Now, Retry: escalate.Backoff{First: time.Second, Max: time.Second}})
}

// TestStaleFallbackAfterHandEscalation: a walk reached nobody (nobody on
// call in primary) and ended on the fallback, mgr, who acknowledged.
// Later alice is on call and someone escalates by hand: the incident
// triggers again and a new walk begins (WalkFrom), which texts alice.
// The walk ends at 5 minutes as having reached her; then Twilio reports
// her text undelivered. The walk reached nobody after all, and, as for
// any walk, its end comes again and the fallback is paged (reopenEnd,
// TestReportNotReachedPagesFallback). But Escalation.Fallback, set by
// the first walk, is never cleared when a new one begins (Trigger,
// pageStep keeps it): reopenEnd takes the new walk for one that paged
// its fallback already, and nobody is paged at all.
func TestStaleFallbackAfterHandEscalation(t *testing.T) {
	alice := klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}
	mgr := klaxon.User{ID: "mgr", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}}}
	on := new(atomic.Pointer[[]string])
	on.Store(&[]string{})
	dir := switchDir{raisedDir{users: map[string]klaxon.User{"alice": alice, "mgr": mgr}, down: new(atomic.Bool), fallback: []string{"mgr"}}, on}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}, EscalateAfter: 5 * time.Minute}}}
	r := newRaisedRig(t, dir.raisedDir, p)
	r.e = newSwitchEngine(r, dir)
	r.turn(0)
	require.Equal(t, []string{"mgr/email"}, r.ph.got(), "the walk reached nobody: the fallback is mailed")

	r.clk.Set(t0.Add(time.Minute))
	_, err := r.e.Acknowledge(t.Context(), r.id, klaxon.Actor{By: "mgr", How: "api"})
	require.NoError(t, err)

	on.Store(&[]string{"alice"})
	r.clk.Set(t0.Add(2 * time.Minute))
	_, err = r.e.Escalate(t.Context(), r.id, klaxon.Actor{By: "mgr", How: "api"})
	require.NoError(t, err)
	r.turn(2 * time.Minute)
	require.Equal(t, []string{"mgr/email", "alice/sms"}, r.ph.got())
	r.turn(8 * time.Minute) // the step's 5 minutes: the walk ends, having reached alice

	inc, err := r.st.Incident(t.Context(), r.id)
	require.NoError(t, err)
	require.True(t, inc.Escalation.Done)
	var n int
	for _, s := range inc.Sent {
		if s.User == "alice" && s.Notification > inc.WalkFrom {
			n = s.Notification
		}
	}
	require.NotZero(t, n)
	r.clk.Set(t0.Add(9 * time.Minute))
	require.NoError(t, r.e.Delivery(t.Context(), r.id, n, false, "undelivered (error 30003)"))
	r.turn(9 * time.Minute)
	r.turn(time.Hour)
	require.Equal(t, []string{"mgr/email", "alice/sms", "mgr/email"}, r.ph.got(),
		"the new walk reached nobody: its fallback is paged, as the first walk's was")
}

// TestStaleFallbackCaughtUpAfterHandEscalation: as
// TestStaleFallbackAfterHandEscalation, the first walk ended on the
// fallback, mgr, who acknowledged; a hand's escalation begins a new
// walk, which texts alice and has not turned to the fallback. A
// critical alert joins: the catch-up is of "the people its walk turned
// to so far", alice, who is called; the stale Escalation.Fallback has
// it call mgr too, whose incident this walk never paged.
func TestStaleFallbackCaughtUpAfterHandEscalation(t *testing.T) {
	alice := klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	mgr := klaxon.User{ID: "mgr", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	on := new(atomic.Pointer[[]string])
	on.Store(&[]string{})
	dir := switchDir{raisedDir{users: map[string]klaxon.User{"alice": alice, "mgr": mgr}, down: new(atomic.Bool), fallback: []string{"mgr"}}, on}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}, EscalateAfter: 5 * time.Minute}}}
	r := newRaisedRig(t, dir.raisedDir, p)
	r.e = newSwitchEngine(r, dir)
	r.turn(0)
	require.Equal(t, []string{"mgr/email"}, r.ph.got())

	r.clk.Set(t0.Add(time.Minute))
	_, err := r.e.Acknowledge(t.Context(), r.id, klaxon.Actor{By: "mgr", How: "api"})
	require.NoError(t, err)
	on.Store(&[]string{"alice"})
	r.clk.Set(t0.Add(2 * time.Minute))
	_, err = r.e.Escalate(t.Context(), r.id, klaxon.Actor{By: "mgr", How: "api"})
	require.NoError(t, err)
	r.turn(2 * time.Minute)
	require.Equal(t, []string{"mgr/email", "alice/sms"}, r.ph.got())

	r.raise(3 * time.Minute)
	r.turn(3 * time.Minute)
	require.Equal(t, []string{"mgr/email", "alice/sms", "alice/voice"}, r.ph.got(),
		"the catch-up calls alice, whom this walk paged, and not the fallback it never turned to")
}
