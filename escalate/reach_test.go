package escalate_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/incident"
)

func scheduleStep(name string) klaxon.Step {
	return klaxon.Step{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: name}}, EscalateAfter: 5 * time.Minute}
}

func userStep(id string) klaxon.Step {
	return klaxon.Step{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: id}}, EscalateAfter: 5 * time.Minute}
}

// onCall resolves schedule targets from a fixed table: a schedule with
// nobody in it is a coverage gap.
func onCall(table map[string][]klaxon.User) escalate.Users {
	return func(s klaxon.Step) ([]klaxon.User, []string, error) {
		var out []klaxon.User
		var why []string
		for _, t := range s.Targets {
			users := table[t.String()]
			if len(users) == 0 {
				why = append(why, "nobody on call in "+t.Name)
			}
			out = append(out, users...)
		}
		return out, why, nil
	}
}

func kindsOf(events []klaxon.Event) []klaxon.EventKind {
	var out []klaxon.EventKind
	for _, ev := range events {
		out = append(out, ev.Kind)
	}
	return out
}

func pendingUsers(inc *klaxon.Incident) []string {
	var out []string
	for _, n := range inc.Pending {
		out = append(out, n.User+"/"+n.Via)
	}
	return out
}

func TestWalkNobodyReached(t *testing.T) {
	carol := klaxon.User{ID: "carol", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}
	gap := klaxon.Policy{Name: "gap", Repeat: 1, Steps: []klaxon.Step{scheduleStep("primary"), scheduleStep("secondary")}}

	t.Run("a step that reaches nobody says why and the next pages at once", func(t *testing.T) {
		inc := newIncident(gap)
		users := onCall(map[string][]klaxon.User{"schedule:secondary": {bob}})
		changed, err := escalate.Walk(inc, t0, users, nil)
		require.NoError(t, err)
		require.True(t, changed)
		require.Equal(t, []klaxon.EventKind{klaxon.EventEscalated, klaxon.EventNobodyPaged, klaxon.EventEscalated}, kindsOf(inc.Recorded))
		require.Equal(t, "nobody paged: nobody on call in primary", inc.Recorded[1].Text)
		require.Equal(t, []string{"bob/email"}, pendingUsers(inc))
		require.Equal(t, 1, inc.Escalation.Step)
		require.Equal(t, t0.Add(5*time.Minute), inc.Escalation.NextAt, "the step that paged is timed from now")
	})

	t.Run("a user with no rule for the urgency reaches nobody", func(t *testing.T) {
		inc := newIncident(klaxon.Policy{Name: "p", Steps: []klaxon.Step{userStep("dana"), userStep("bob")}})
		inc.Urgency = klaxon.UrgencyLow
		dana := klaxon.User{ID: "dana", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}}}
		users := func(s klaxon.Step) ([]klaxon.User, []string, error) {
			if s.Targets[0].Name == "dana" {
				return []klaxon.User{dana}, nil, nil
			}
			return []klaxon.User{bob}, nil, nil
		}
		_, err := escalate.Walk(inc, t0, users, nil)
		require.NoError(t, err)
		require.Equal(t, "nobody paged: dana has no notification rule for this urgency", inc.Recorded[1].Text)
		require.Equal(t, []string{"bob/email"}, pendingUsers(inc))
	})

	t.Run("a walk that reaches nobody pages the fallback", func(t *testing.T) {
		inc := newIncident(gap)
		fallback := []klaxon.Target{{Kind: klaxon.TargetUser, Name: "carol"}}
		users := onCall(map[string][]klaxon.User{"user:carol": {carol}})
		_, err := escalate.Walk(inc, t0, users, fallback)
		require.NoError(t, err)
		// A round of two steps, each nobody, then the fallback: the
		// policy's second round would reach nobody again.
		require.Equal(t, []klaxon.EventKind{
			klaxon.EventEscalated, klaxon.EventNobodyPaged, klaxon.EventEscalated, klaxon.EventNobodyPaged,
			klaxon.EventExhausted, klaxon.EventFallback,
		}, kindsOf(inc.Recorded))
		require.Equal(t, "paging the fallback: user:carol", inc.Recorded[len(inc.Recorded)-1].Text)
		require.Equal(t, []string{"carol/sms"}, pendingUsers(inc))
		require.Equal(t, escalate.FallbackStep, inc.Pending[0].Step)
		require.True(t, inc.Escalation.Done)
		require.Equal(t, []klaxon.Notification{{ID: 1, User: "carol", Via: klaxon.ViaSMS, Due: t0, Step: -1, Round: 0}}, inc.Pending)
	})

	t.Run("without a fallback the timeline says nobody was paged", func(t *testing.T) {
		inc := newIncident(gap)
		_, err := escalate.Walk(inc, t0, onCall(nil), nil)
		require.NoError(t, err)
		last := inc.Recorded[len(inc.Recorded)-1]
		require.Equal(t, klaxon.EventExhausted, last.Kind)
		require.Equal(t, "a round of steps reached nobody, as its next rounds would at once: the walk ends, nobody paged; no fallback is set", last.Text)
		require.Empty(t, inc.Pending)
	})

	// A walk that paged bob does not page the fallback, also when a later
	// step reaches nobody.
	for name, steps := range map[string][]klaxon.Step{
		"a walk that paged someone does not page the fallback":              {userStep("bob")},
		"a page of an earlier step counts when a later step reaches nobody": {userStep("bob"), scheduleStep("empty")},
	} {
		t.Run(name, func(t *testing.T) {
			inc := newIncident(klaxon.Policy{Name: "p", Steps: steps})
			users := onCall(map[string][]klaxon.User{"user:bob": {bob}})
			fallback := []klaxon.Target{{Kind: klaxon.TargetUser, Name: "carol"}}
			_, err := escalate.Walk(inc, t0, users, fallback)
			require.NoError(t, err)
			inc.Pending = nil
			inc.Record(klaxon.Event{At: t0, Kind: klaxon.EventPageSent, User: "bob", Via: klaxon.ViaEmail, Notification: 1})
			_, err = escalate.Walk(inc, t0.Add(5*time.Minute), users, fallback)
			require.NoError(t, err)
			require.Equal(t, klaxon.EventExhausted, inc.Recorded[len(inc.Recorded)-1].Kind)
			require.NotContains(t, kindsOf(inc.Recorded), klaxon.EventFallback)
			require.Empty(t, inc.Pending, "the fallback is not paged")
		})
	}

	t.Run("a hand's escalation of an acknowledged incident walks anew, and pages the fallback if it reaches nobody", func(t *testing.T) {
		inc := newIncident(klaxon.Policy{Name: "p", Steps: []klaxon.Step{scheduleStep("primary")}})
		oncall := map[string][]klaxon.User{"schedule:primary": {alice}, "user:carol": {carol}}
		fallback := []klaxon.Target{{Kind: klaxon.TargetUser, Name: "carol"}}
		_, err := escalate.Walk(inc, t0, onCall(oncall), fallback)
		require.NoError(t, err)
		n := inc.Pending[0]
		inc.Pending = nil
		inc.Record(klaxon.Event{At: t0, Kind: klaxon.EventPageSent, Step: &n.Step, Notification: n.ID, User: n.User, Via: n.Via})
		_, err = incident.Acknowledge(inc, t0.Add(time.Minute), klaxon.Actor{By: "alice", How: "sms"})
		require.NoError(t, err)

		oncall["schedule:primary"] = nil // nobody on call any more
		require.NoError(t, escalate.Escalate(inc, t0.Add(2*time.Minute), func(s klaxon.Step) []klaxon.User {
			u, _, _ := onCall(oncall)(s)
			return u
		}, klaxon.Actor{By: "dana", How: "api"}))
		_, err = escalate.Walk(inc, t0.Add(2*time.Minute), onCall(oncall), fallback)
		require.NoError(t, err)
		require.Contains(t, kindsOf(inc.Recorded), klaxon.EventFallback, "alice's page was of the walk before the ack")
		require.Equal(t, []string{"carol/sms"}, pendingUsers(inc))
	})

	t.Run("a lookup that fails stops the walk with its error", func(t *testing.T) {
		inc := newIncident(gap)
		down := errors.New("store unreachable")
		_, err := escalate.Walk(inc, t0, func(klaxon.Step) ([]klaxon.User, []string, error) { return nil, nil, down }, nil)
		require.ErrorIs(t, err, down)
	})
}

// flakyDirectory answers who is on call in "primary" (alice) only after
// its lookups failed a number of times.
type flakyDirectory struct {
	directory
	mu       sync.Mutex
	failures int
	lookups  int
	fallback []string
}

func (d *flakyDirectory) OnCall(_ context.Context, name string, _ time.Time) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups++
	if d.failures > 0 {
		d.failures--
		return nil, errors.New("read overrides: store unreachable")
	}
	switch name {
	case "primary":
		return []string{"alice"}, nil
	case "empty":
		return nil, nil
	}
	return nil, klaxon.ErrNotFound
}

func (d *flakyDirectory) Fallback() []string { return d.fallback }

// TestEngineLookupFails has the on-call lookup fail twice: each failure
// is on the timeline, the step is not recorded as paged, and it pages
// once the lookup works, after the backoff.
func TestEngineLookupFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		start := time.Now()
		phones := &slowPhones{start: start, delay: func(klaxon.Page) time.Duration { return 0 }}
		dir := &flakyDirectory{directory: directory{"alice": alice}, failures: 2}
		e := escalate.New(st, phones.engine("a"), func() escalate.Directory { return dir }, quiet,
			escalate.Options{Retry: escalate.Backoff{First: 10 * time.Second, Max: time.Minute}})
		runEngine(t, e)
		id := openIncident(t, st, klaxon.Policy{Name: "p", Steps: []klaxon.Step{scheduleStep("primary")}}, start)
		e.Wake()

		time.Sleep(29 * time.Second) // tries at 0 s and 10 s fail; the next is at 30 s
		synctest.Wait()
		started, _ := phones.pages()
		require.Empty(t, started)
		inc, err := st.Incident(t.Context(), id)
		require.NoError(t, err)
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		require.Equal(t, []klaxon.EventKind{klaxon.EventTriggered, klaxon.EventLookupFailed, klaxon.EventLookupFailed}, kindsOf(timeline))
		require.Contains(t, timeline[1].Text, "could not look up who to page: who is on call in primary: read overrides: store unreachable; looking again at")
		require.Equal(t, -1, inc.Escalation.Step, "no step is recorded as paged")

		time.Sleep(2 * time.Second)
		synctest.Wait()
		started, _ = phones.pages()
		require.ElementsMatch(t, []string{"alice/sms 30 a", "alice/email 30 a"}, started)
	})
}

// TestEngineFallback walks a policy whose schedule is empty: the step
// says nobody was paged, and the fallback is paged at once.
func TestEngineFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		start := time.Now()
		phones := &slowPhones{start: start, delay: func(klaxon.Page) time.Duration { return 0 }}
		dir := &flakyDirectory{directory: directory{"alice": alice, "bob": bob}, fallback: []string{"bob"}}
		e := escalate.New(st, phones.engine("a"), func() escalate.Directory { return dir }, quiet, escalate.Options{})
		runEngine(t, e)
		id := openIncident(t, st, klaxon.Policy{Name: "p", Steps: []klaxon.Step{scheduleStep("empty"), userStep("zed")}}, start)
		e.Wake()

		time.Sleep(time.Second)
		synctest.Wait()
		started, _ := phones.pages()
		require.Equal(t, []string{"bob/email 0 a"}, started)
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		var texts []string
		for _, ev := range timeline {
			texts = append(texts, string(ev.Kind)+": "+ev.Text)
		}
		require.Equal(t, []string{
			"triggered: disk full",
			"escalated: step 1: schedule:empty",
			"nobody_paged: nobody paged: nobody on call in empty",
			"escalated: step 2: user:zed",
			"nobody_paged: nobody paged: unknown user zed",
			"escalation_exhausted: every step walked 1 times and nobody was paged",
			"fallback_paged: paging the fallback: user:bob",
			"page_sent: ",
		}, texts)
		require.True(t, strings.HasPrefix(texts[len(texts)-1], "page_sent"))
	})
}

// TestLookupFailsDuringSlowPage has the next step's lookup fail twice
// while the first step's SMS is still in flight: the engine that holds the
// incident tries the lookup again after the backoff, not in a loop, and
// pages the step once it works.
func TestLookupFailsDuringSlowPage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		start := time.Now()
		phones := &slowPhones{start: start, delay: func(p klaxon.Page) time.Duration {
			if p.Via == klaxon.ViaSMS && p.User.ID == "bob" {
				return time.Minute
			}
			return 0
		}}
		smsBob := klaxon.User{ID: "bob", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}}}
		dir := &flakyDirectory{directory: directory{"alice": alice, "bob": smsBob}, failures: 2}
		e := escalate.New(st, phones.engine("a"), func() escalate.Directory { return dir }, quiet,
			escalate.Options{Retry: escalate.Backoff{First: 10 * time.Second, Max: time.Minute}, PageTimeout: 2 * time.Minute})
		policy := klaxon.Policy{Name: "p", Steps: []klaxon.Step{userStep("bob"), scheduleStep("primary")}}
		policy.Steps[0].EscalateAfter = 5 * time.Second
		id := openIncident(t, st, policy, start)
		runEngine(t, e)

		// bob's SMS is in flight for a minute. The lookup of step 2 fails at
		// 5 s and 15 s, and works at 35 s.
		time.Sleep(36 * time.Second)
		synctest.Wait()
		dir.mu.Lock()
		lookups := dir.lookups
		dir.mu.Unlock()
		require.Equal(t, 3, lookups, "looked up at 5 s, 15 s and 35 s")
		started, _ := phones.pages()
		require.Equal(t, []string{"alice/email 35 a", "alice/sms 35 a", "bob/sms 0 a"}, sortedStrings(started))
		timeline, err := klaxon.ReadTimeline(t.Context(), st, id)
		require.NoError(t, err)
		var kinds []klaxon.EventKind
		for _, k := range kindsOf(timeline) {
			if k != klaxon.EventPageSent {
				kinds = append(kinds, k)
			}
		}
		require.Equal(t, []klaxon.EventKind{klaxon.EventTriggered, klaxon.EventEscalated, klaxon.EventLookupFailed, klaxon.EventLookupFailed, klaxon.EventEscalated}, kinds)
	})
}
