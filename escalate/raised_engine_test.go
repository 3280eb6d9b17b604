package escalate_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/incident"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// raisedDir is a directory with one schedule, primary, whose on-call
// lookup says onCall, or fails while down is set, and a fallback.
type raisedDir struct {
	users    map[string]klaxon.User
	onCall   []string
	down     *atomic.Bool
	fallback []string
}

func (d raisedDir) User(id string) (klaxon.User, bool) { u, ok := d.users[id]; return u, ok }
func (d raisedDir) OnCall(context.Context, string, time.Time) ([]string, error) {
	if d.down.Load() {
		return nil, errors.New("overrides of primary: store shard unreachable")
	}
	return d.onCall, nil
}
func (d raisedDir) Fallback() []string { return d.fallback }

// raisedRig runs a real engine over an embedded store: open opens an
// incident with a warning (low urgency), raise has a critical alert
// join it as ingest commits it (incident.Apply, a timer due now), turn
// moves the clock and lets the engine do what is due.
type raisedRig struct {
	t     *testing.T
	st    klaxon.Store
	ph    *phone
	e     *escalate.Engine
	clk   *fakeclock.Clock
	id    string
	group string
	tmpl  incident.Template
}

func newRaisedRig(t *testing.T, dir raisedDir, p klaxon.Policy) *raisedRig {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	clk := fakeclock.New(t0)
	ph := &phone{}
	e := escalate.New(st, ph, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler),
		escalate.Options{Now: clk.Now, Retry: escalate.Backoff{First: time.Second, Max: time.Second}})
	r := &raisedRig{t: t, st: st, ph: ph, e: e, clk: clk, group: "g", tmpl: incident.Template{Group: "g", Policy: p}}
	id, err := st.NextIncidentID(t.Context())
	require.NoError(t, err)
	r.id = id
	res := incident.Apply(nil, nil, []klaxon.Alert{{Key: "dd/1", Status: klaxon.Firing, Summary: "disk 85%", Severity: "warning", StartsAt: t0}}, t0, r.tmpl)
	res.Incident.ID = id
	require.Equal(t, klaxon.UrgencyLow, res.Incident.Urgency)
	require.NoError(t, st.Commit(t.Context(), klaxon.Commit{Group: "g", Open: id, Incidents: []*klaxon.Incident{res.Incident},
		Index: res.Index, Timers: []klaxon.Timer{{Incident: id, Group: "g", Due: t0}}}))
	return r
}

// forgetWalked leaves the incident's header as a version before
// Incident.Walked wrote it: the catch-up looks up the steps walked.
func (r *raisedRig) forgetWalked() {
	r.t.Helper()
	require.NoError(r.t, klaxon.Update(r.t.Context(), r.st, r.group, nil, func(g klaxon.Group) (*klaxon.Commit, error) {
		inc := g.Open.Header()
		inc.Walked = nil
		return &klaxon.Commit{Open: r.id, Incidents: []*klaxon.Incident{inc}}, nil
	}))
}

func (r *raisedRig) turn(at time.Duration) {
	r.t.Helper()
	r.clk.Set(t0.Add(at))
	_, err := r.e.RunOnce(r.t.Context())
	require.NoError(r.t, err)
}

func (r *raisedRig) raise(at time.Duration) {
	r.t.Helper()
	now := t0.Add(at)
	r.clk.Set(now)
	crit := klaxon.Alert{Key: "dd/2", Status: klaxon.Firing, Summary: "disk 99%", Severity: "critical", StartsAt: now}
	require.NoError(r.t, klaxon.Update(r.t.Context(), r.st, r.group, []string{crit.Key}, func(g klaxon.Group) (*klaxon.Commit, error) {
		res := incident.Apply(g.Open, g.Alerts, []klaxon.Alert{crit}, now, r.tmpl)
		require.True(r.t, res.Raised, "the walk has paged: the engine is to page for the raise")
		c := &klaxon.Commit{Open: r.id, Incidents: []*klaxon.Incident{res.Incident}, Index: res.Index}
		c.Schedule(res.Incident, now) // as ingest's fold does
		return c, nil
	}))
}

// TestUrgencyRaisedPagesTheFallback: a walk whose steps reach nobody
// (nobody on call in primary) pages the fallback, mgr, by the rules for
// its urgency: at low urgency a mail. When a critical alert joins, the
// walk, had it been high from the start, would have called mgr (a rule
// for high urgency), and did not: mgr is called now. Nobody else can be:
// with no call, a critical incident reaches no phone at all.
func TestUrgencyRaisedPagesTheFallback(t *testing.T) {
	mgr := klaxon.User{ID: "mgr", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	dir := raisedDir{users: map[string]klaxon.User{"mgr": mgr}, down: new(atomic.Bool), fallback: []string{"mgr"}}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}, EscalateAfter: 5 * time.Minute}}}
	r := newRaisedRig(t, dir, p)
	r.turn(0)
	require.Equal(t, []string{"mgr/email"}, r.ph.got(), "the walk reached nobody: the fallback is mailed")

	r.raise(2 * time.Minute)
	r.turn(2 * time.Minute)
	r.turn(time.Hour)
	require.Equal(t, []string{"mgr/email", "mgr/voice"}, r.ph.got(), "the fallback is called for the critical incident")
}

// TestUrgencyRaisedLookupStallsTheWalk: the on-call lookup of a step
// walked already (primary, which paged alice) fails for a while. The
// raise's catch-up cannot look it up, but the walk's next step, bob, a
// user who needs no lookup, is due at 5 minutes and is paged then, as
// it was before the urgency rose: a step walked already does not hold
// up the escalation.
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
