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

// texted is a person of the raise's tests: texted for any urgency,
// called for high urgency only.
func texted(id string) klaxon.User {
	return klaxon.User{ID: id, Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
}

// primaryStep pages whoever is on call in schedule primary, and
// escalates after 5 minutes.
var primaryStep = klaxon.Step{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}, EscalateAfter: 5 * time.Minute}

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
		inc.Walked, inc.WalkedAll = nil, false
		return &klaxon.Commit{Open: r.id, Incidents: []*klaxon.Incident{inc}}, nil
	}))
}

// over replaces r's engine with one over dir, retrying failed lookups
// with retry (the zero Backoff: the engine's default).
func (r *raisedRig) over(dir escalate.Directory, retry escalate.Backoff) {
	r.e = escalate.New(r.st, r.ph, func() escalate.Directory { return dir }, slog.New(slog.DiscardHandler),
		escalate.Options{Now: r.clk.Now, Retry: retry})
}

// count counts the events of kind on the incident's timeline.
func (r *raisedRig) count(kind klaxon.EventKind) int {
	r.t.Helper()
	evs, err := klaxon.ReadTimeline(r.t.Context(), r.st, r.id)
	require.NoError(r.t, err)
	return count(evs, kind)
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
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{primaryStep}}
	r := newRaisedRig(t, dir, p)
	r.turn(0)
	require.Equal(t, []string{"mgr/email"}, r.ph.got(), "the walk reached nobody: the fallback is mailed")

	r.raise(2 * time.Minute)
	r.turn(2 * time.Minute)
	r.turn(time.Hour)
	require.Equal(t, []string{"mgr/email", "mgr/voice"}, r.ph.got(), "the fallback is called for the critical incident")
}

// switchDir is raisedDir whose on-call list can change.
type switchDir struct {
	raisedDir
	on *atomic.Pointer[[]string]
}

func (d switchDir) OnCall(context.Context, string, time.Time) ([]string, error) {
	return *d.on.Load(), nil
}

// fallbackThenAlice runs the walk of TestFallbackAfterHandEscalation on
// users alice and mgr: nobody on call in primary, so it ends on the
// fallback, mgr, who acknowledges at 1 minute; alice comes on call and
// mgr escalates by hand at 2 minutes: a new walk texts alice.
func fallbackThenAlice(t *testing.T, alice, mgr klaxon.User) *raisedRig {
	t.Helper()
	on := new(atomic.Pointer[[]string])
	on.Store(&[]string{})
	dir := switchDir{raisedDir{users: map[string]klaxon.User{"alice": alice, "mgr": mgr}, down: new(atomic.Bool), fallback: []string{"mgr"}}, on}
	r := newRaisedRig(t, dir.raisedDir, klaxon.Policy{Name: "p", Steps: []klaxon.Step{primaryStep}})
	r.over(dir, escalate.Backoff{First: time.Second, Max: time.Second})
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
	return r
}

// TestFallbackAfterHandEscalation: a walk reached nobody (nobody on
// call in primary) and ended on the fallback, mgr, who acknowledged.
// Later alice is on call and someone escalates by hand: a new walk
// begins, which texts alice, and ends at 5 minutes as having reached
// her; then Twilio reports her text undelivered. The new walk reached
// nobody after all, and pages its fallback (reopenEnd): the first
// walk's fallback is not the new one's.
func TestFallbackAfterHandEscalation(t *testing.T) {
	r := fallbackThenAlice(t, klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}},
		klaxon.User{ID: "mgr", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}}})
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

// TestFallbackCaughtUpAfterHandEscalation: as
// TestFallbackAfterHandEscalation, the first walk ended on the fallback,
// mgr, who acknowledged; a hand's escalation begins a new walk, which
// texts alice. A critical alert joins: the catch-up calls alice, whom
// this walk turned to, and not mgr, whom it never did.
func TestFallbackCaughtUpAfterHandEscalation(t *testing.T) {
	r := fallbackThenAlice(t, texted("alice"),
		klaxon.User{ID: "mgr", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}})

	r.raise(3 * time.Minute)
	r.turn(3 * time.Minute)
	require.Equal(t, []string{"mgr/email", "alice/sms", "alice/voice"}, r.ph.got(),
		"the catch-up calls alice, whom this walk paged, and not the fallback it never turned to")
}

// TestUrgencyRaisedCallWaitsNotForLowRule: alice is texted at once,
// called after 10 minutes at low urgency and at once at high. At low
// urgency her call waits in the outbox, due at 10 minutes. A critical
// alert joins at 1 minute: she is called then, as she would have been
// had the incident been high from the start.
func TestUrgencyRaisedCallWaitsNotForLowRule(t *testing.T) {
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

// TestUrgencyRaisedAfterHandoffCallsWhomTheStepPaged: step 1 is
// schedule primary, with an hour to wait. At 0 alice is on call and is
// texted; at 10 minutes primary hands off to bob; a critical alert
// joins at 12 minutes. The catch-up calls alice, whom the step paged,
// and not bob, who is on call now.
func TestUrgencyRaisedAfterHandoffCallsWhomTheStepPaged(t *testing.T) {
	alice := texted("alice")
	bob := texted("bob")
	on := new(atomic.Pointer[[]string])
	on.Store(&[]string{"alice"})
	dir := switchDir{raisedDir{users: map[string]klaxon.User{"alice": alice, "bob": bob}, down: new(atomic.Bool)}, on}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}, EscalateAfter: time.Hour}}}
	r := newRaisedRig(t, dir.raisedDir, p)
	r.over(dir, escalate.Backoff{First: time.Second, Max: time.Second})
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
// bob: a new walk begins there, which texts bob. A critical alert
// joins: the catch-up calls bob, whom the new walk turned to, and not
// alice.
func TestUrgencyRaisedAfterHandEscalationCallsOnlyTheNewWalk(t *testing.T) {
	alice := texted("alice")
	bob := texted("bob")
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
// and the walk ends on its fallback, mgr, mailed at low urgency. The
// critical alert's catch-up calls mgr, and that call is the fallback's
// page (step FallbackStep), as the console, Slack and the review show.
func TestUrgencyRaisedFallbackCallIsTheFallbacks(t *testing.T) {
	mgr := klaxon.User{ID: "mgr", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}, {Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
	dir := raisedDir{users: map[string]klaxon.User{"mgr": mgr}, down: new(atomic.Bool), fallback: []string{"mgr"}}
	p := klaxon.Policy{Name: "p", Steps: []klaxon.Step{primaryStep}}
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

// TestUrgencyRaisedCatchUpNotHeldUpByStepBackoff: on a header before Walked
// (the catch-up looks the steps up): step 1, schedule primary, texted
// alice; step 2, schedule secondary, is due at 5 minutes and cannot be
// looked up. A critical alert joins at 1 minute while primary cannot be
// looked up either: the catch-up is put off with the lookup backoff, to
// 5m30s. Primary is back at 4 minutes: alice is called at 5m30s,
// whatever step 2's failing lookup and its own backoff.
func TestUrgencyRaisedCatchUpNotHeldUpByStepBackoff(t *testing.T) {
	r, dir := primaryThenSecondary(t, escalate.Backoff{}) // the engine's default lookup backoff
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
