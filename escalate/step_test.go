package escalate_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/incident"
)

var t0 = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

var (
	alice = klaxon.User{ID: "alice", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaSMS}, {Via: klaxon.ViaVoice, After: time.Minute}, {Via: klaxon.ViaEmail}}}
	bob   = klaxon.User{ID: "bob", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}}}
)

// users resolves user targets from a fixed directory, as the engine does.
func users(s klaxon.Step) []klaxon.User {
	dir := map[string]klaxon.User{"alice": alice, "bob": bob}
	var out []klaxon.User
	for _, t := range s.Targets {
		out = append(out, dir[t.Name])
	}
	return out
}

func newIncident(p klaxon.Policy) *klaxon.Incident {
	return &klaxon.Incident{ID: "7", Group: "g", State: klaxon.StateTriggered, CreatedAt: t0, Policy: p, Escalation: klaxon.Escalation{Step: -1}}
}

var twoSteps = klaxon.Policy{Name: "p", Repeat: 1, Steps: []klaxon.Step{
	{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "alice"}}, EscalateAfter: 5 * time.Minute},
	{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "bob"}}, EscalateAfter: 10 * time.Minute},
}}

// page is what a walk paged: the user, how, and when, relative to t0.
type page struct {
	user, via string
	at        time.Duration
}

// walk runs the engine's loop on inc without I/O: advance at each due
// time, send what is due, until nothing is due or until the limit.
func walk(inc *klaxon.Incident, until time.Duration) []page {
	var out []page
	for {
		due := escalate.NextDue(inc)
		if due.IsZero() || due.Sub(t0) > until {
			return out
		}
		escalate.Advance(inc, due, users)
		for _, n := range escalate.Due(inc, due) {
			out = append(out, page{n.User, n.Via, due.Sub(t0)})
		}
		var left []klaxon.Notification
		for _, n := range inc.Pending {
			if n.Due.After(due) {
				left = append(left, n)
			}
		}
		inc.Pending = left
	}
}

func TestWalk(t *testing.T) {
	t.Run("two steps, repeated once, then exhausted", func(t *testing.T) {
		inc := newIncident(twoSteps)
		require.Equal(t, []page{
			{"alice", "sms", 0}, {"alice", "email", 0}, {"alice", "voice", time.Minute},
			{"bob", "email", 5 * time.Minute},
			{"alice", "sms", 15 * time.Minute}, {"alice", "email", 15 * time.Minute}, {"alice", "voice", 16 * time.Minute},
			{"bob", "email", 20 * time.Minute},
		}, walk(inc, 24*time.Hour))
		require.True(t, inc.Escalation.Done)
		require.Equal(t, klaxon.EventExhausted, inc.Recorded[len(inc.Recorded)-1].Kind)
		require.True(t, escalate.NextDue(inc).IsZero(), "nothing more to do")
	})

	t.Run("acknowledged: no page after, and pending ones are dropped", func(t *testing.T) {
		inc := newIncident(twoSteps)
		require.Len(t, walk(inc, 0), 2)
		changed, err := incident.Acknowledge(inc, t0.Add(30*time.Second), klaxon.Actor{By: "alice", How: "sms"})
		require.NoError(t, err)
		require.True(t, changed)
		require.Empty(t, inc.Pending, "the voice call due at 1m is not placed")
		require.Empty(t, walk(inc, 24*time.Hour))
		changed, err = incident.Acknowledge(inc, t0.Add(time.Minute), klaxon.Actor{By: "bob", How: "api"})
		require.NoError(t, err)
		require.False(t, changed, "a second acknowledgement changes nothing")
		require.Equal(t, "alice", inc.AckedBy)
	})

	t.Run("ack timeout re-triggers and walks again from the first step", func(t *testing.T) {
		p := twoSteps
		p.AckTimeout = 30 * time.Minute
		inc := newIncident(p)
		walk(inc, 0)
		_, err := incident.Acknowledge(inc, t0.Add(2*time.Minute), klaxon.Actor{By: "alice", How: "api"})
		require.NoError(t, err)
		require.Equal(t, t0.Add(32*time.Minute), escalate.NextDue(inc))
		require.Zero(t, inc.WalkFrom, "the first walk")
		seq := inc.Seq
		got := walk(inc, 40*time.Minute)
		require.Equal(t, seq, inc.WalkFrom, "the pages of the first walk are numbered up to here")
		require.Equal(t, []page{{"alice", "sms", 32 * time.Minute}, {"alice", "email", 32 * time.Minute}, {"alice", "voice", 33 * time.Minute}, {"bob", "email", 37 * time.Minute}}, got)
		require.Equal(t, klaxon.StateTriggered, inc.State)
	})

	t.Run("a resolved incident cannot be acknowledged", func(t *testing.T) {
		inc := newIncident(twoSteps)
		require.True(t, incident.Resolve(inc, t0, klaxon.Actor{By: "ops", How: "api"}))
		_, err := incident.Acknowledge(inc, t0, klaxon.Actor{By: "alice", How: "api"})
		require.ErrorIs(t, err, klaxon.ErrConflict)
		require.False(t, incident.Resolve(inc, t0, klaxon.Actor{By: "ops", How: "api"}), "resolving twice changes nothing")
		require.True(t, escalate.NextDue(inc).IsZero())
	})

	t.Run("an overdue step fires once, now, and the next is timed from now", func(t *testing.T) {
		inc := newIncident(twoSteps)
		walk(inc, 90*time.Second) // step one and alice's call
		late := t0.Add(time.Hour) // down for an hour
		require.True(t, escalate.Advance(inc, late, users))
		require.Equal(t, 1, inc.Escalation.Step)
		require.Equal(t, late.Add(10*time.Minute), inc.Escalation.NextAt)
		require.Equal(t, []string{"bob"}, dueUsers(inc, late), "only bob's step, not every step missed")
	})

	t.Run("a last step without escalate_after waits until someone acts", func(t *testing.T) {
		p := twoSteps
		p.Repeat = 0
		p.Steps = []klaxon.Step{p.Steps[0], {Targets: p.Steps[1].Targets}}
		inc := newIncident(p)
		require.Equal(t, []page{
			{"alice", "sms", 0}, {"alice", "email", 0}, {"alice", "voice", time.Minute},
			{"bob", "email", 5 * time.Minute},
		}, walk(inc, 30*24*time.Hour), "bob's step stays; the walk never ends by itself")
		require.False(t, inc.Escalation.Done)
		require.Equal(t, 1, inc.Escalation.Step)
		require.False(t, escalate.Advance(inc, t0.Add(30*24*time.Hour), users))
		require.True(t, escalate.NextDue(inc).IsZero())
		require.NotEqual(t, klaxon.EventExhausted, inc.Recorded[len(inc.Recorded)-1].Kind)
	})

	t.Run("a step not yet due changes nothing", func(t *testing.T) {
		inc := newIncident(twoSteps)
		walk(inc, 0)
		require.False(t, escalate.Advance(inc, t0.Add(4*time.Minute), users))
	})
}

func dueUsers(inc *klaxon.Incident, now time.Time) []string {
	var out []string
	for _, n := range escalate.Due(inc, now) {
		out = append(out, n.User)
	}
	return out
}

func TestEscalateAndSnooze(t *testing.T) {
	t.Run("escalate pages the next step now", func(t *testing.T) {
		inc := newIncident(twoSteps)
		walk(inc, 0)
		at := t0.Add(59 * time.Second)
		require.NoError(t, escalate.Escalate(inc, at, users, klaxon.Actor{By: "ops", How: "cli"}))
		require.Equal(t, 1, inc.Escalation.Step)
		require.Equal(t, []string{"bob"}, dueUsers(inc, at))
		require.Empty(t, slicesFilter(inc.Pending, "alice"), "alice's call, due a second later, is dropped")
		last := inc.Recorded[len(inc.Recorded)-1]
		require.Equal(t, klaxon.EventEscalated, last.Kind)
		require.Equal(t, "ops", last.By)
		require.Equal(t, at.Add(10*time.Minute), inc.Escalation.NextAt)
	})

	t.Run("a page due when its step escalates still goes out", func(t *testing.T) {
		inc := newIncident(twoSteps)
		walk(inc, 0)
		at := t0.Add(10 * time.Second)
		require.NoError(t, escalate.Escalate(inc, at, users, klaxon.Actor{By: "alice", How: "sms"}))
		require.Equal(t, []string{"bob"}, dueUsers(inc, at))
		// Escalated again before the engine sent bob's page: bob is owed it.
		require.NoError(t, escalate.Escalate(inc, at, users, klaxon.Actor{By: "ops", How: "api"}))
		require.Equal(t, 0, inc.Escalation.Step)
		require.ElementsMatch(t, []string{"bob", "alice", "alice"}, dueUsers(inc, at))
		require.Len(t, slicesFilter(inc.Pending, "alice"), 3, "and alice's call a minute later")
	})

	for _, byHand := range []bool{false, true} {
		t.Run(fmt.Sprintf("a retry of the step it leaves is dropped, on the timeline (by hand %v)", byHand), func(t *testing.T) {
			inc := newIncident(twoSteps)
			escalate.Advance(inc, t0, users)
			sms := slicesFilter(inc.Pending, "alice")[0]
			require.Equal(t, klaxon.ViaSMS, sms.Via)
			// A try that failed, tried again in 30 s, as the engine
			// records it and puts it off.
			inc.Record(klaxon.Event{At: t0, Kind: klaxon.EventPageFailed, How: klaxon.HowRetry, Notification: sms.ID, User: "alice", Via: sms.Via,
				Text: "try 1 failed: 503; trying again at 03:00:30"})
			for i := range inc.Pending {
				if inc.Pending[i].ID == sms.ID {
					inc.Pending[i].Due, inc.Pending[i].PutOff = t0.Add(30*time.Second), true
				}
			}
			at := t0.Add(10 * time.Second)
			if byHand {
				require.NoError(t, escalate.Escalate(inc, at, users, klaxon.Actor{By: "ops", How: "api"}))
			} else {
				inc.Escalation.NextAt = at // step 1's escalate_after, shortened
				escalate.Advance(inc, at, users)
			}
			require.Equal(t, 1, inc.Escalation.Step)
			require.False(t, slices.ContainsFunc(inc.Pending, func(n klaxon.Notification) bool { return n.ID == sms.ID }), "the retry is dropped")
			require.True(t, slices.ContainsFunc(inc.Recorded, func(e klaxon.Event) bool {
				return e.Kind == klaxon.EventPageFailed && e.Notification == sms.ID && strings.Contains(e.Text, "not tried again")
			}), "and the timeline says so")
		})
	}

	t.Run("escalate after the last step starts over, and re-triggers an acknowledged incident", func(t *testing.T) {
		inc := newIncident(twoSteps)
		walk(inc, 5*time.Minute)
		_, err := incident.Acknowledge(inc, t0.Add(6*time.Minute), klaxon.Actor{By: "bob", How: "api"})
		require.NoError(t, err)
		seq := inc.Seq
		require.NoError(t, escalate.Escalate(inc, t0.Add(7*time.Minute), users, klaxon.Actor{By: "bob", How: "api"}))
		require.Equal(t, klaxon.StateTriggered, inc.State)
		require.Equal(t, seq, inc.WalkFrom, "a new walk")
		require.Equal(t, 0, inc.Escalation.Step)
		require.Equal(t, 1, inc.Escalation.Round)
		require.Equal(t, []string{"alice", "alice"}, dueUsers(inc, t0.Add(7*time.Minute)))
		require.NoError(t, escalate.Escalate(inc, t0.Add(8*time.Minute), users, klaxon.Actor{By: "bob", How: "api"}))
		require.Equal(t, seq, inc.WalkFrom, "escalating a triggered incident goes on with its walk")
	})

	t.Run("snooze silences, then the incident triggers and walks again", func(t *testing.T) {
		inc := newIncident(twoSteps)
		walk(inc, 0)
		require.NoError(t, incident.Snooze(inc, t0.Add(time.Minute), 30*time.Minute, 0, klaxon.Actor{By: "alice", How: "sms"}))
		require.Equal(t, klaxon.StateAcknowledged, inc.State)
		require.Empty(t, inc.Pending)
		require.Equal(t, t0.Add(31*time.Minute), escalate.NextDue(inc))
		require.False(t, escalate.Advance(inc, t0.Add(30*time.Minute), users), "still snoozed")
		require.Equal(t, []page{{"alice", "sms", 31 * time.Minute}, {"alice", "email", 31 * time.Minute}, {"alice", "voice", 32 * time.Minute}, {"bob", "email", 36 * time.Minute}},
			walk(inc, 40*time.Minute))
		require.True(t, inc.SnoozedUntil.IsZero())
	})

	t.Run("a resolved incident can be neither escalated nor snoozed", func(t *testing.T) {
		inc := newIncident(twoSteps)
		incident.Resolve(inc, t0, klaxon.Actor{By: "ops", How: "api"})
		require.ErrorIs(t, escalate.Escalate(inc, t0, users, klaxon.Actor{By: "ops", How: "api"}), klaxon.ErrConflict)
		require.ErrorIs(t, incident.Snooze(inc, t0, time.Minute, 0, klaxon.Actor{By: "ops", How: "api"}), klaxon.ErrConflict)
	})

}

func slicesFilter(ns []klaxon.Notification, user string) []klaxon.Notification {
	var out []klaxon.Notification
	for _, n := range ns {
		if n.User == user {
			out = append(out, n)
		}
	}
	return out
}

func TestUrgency(t *testing.T) {
	// dana is called for high urgency, mailed for any.
	dana := klaxon.User{ID: "dana", Notify: []klaxon.NotifyRule{{Via: klaxon.ViaVoice, Urgency: klaxon.UrgencyHigh}, {Via: klaxon.ViaEmail}}}
	only := func(klaxon.Step) []klaxon.User { return []klaxon.User{dana} }
	for _, c := range []struct {
		urgency klaxon.Urgency
		want    []string
	}{
		{klaxon.UrgencyHigh, []string{"voice", "email"}},
		{klaxon.UrgencyLow, []string{"email"}},
	} {
		t.Run(string(c.urgency), func(t *testing.T) {
			inc := newIncident(twoSteps)
			inc.Urgency = c.urgency
			require.True(t, escalate.Advance(inc, t0, only))
			var via []string
			for _, n := range escalate.Due(inc, t0) {
				via = append(via, n.Via)
			}
			require.Equal(t, c.want, via)
		})
	}
}

// TestOnceKeepsNewestRetries: an incident keeps the newest
// klaxon.MaxRetries retry names (a client's keys), and every other name,
// so that keyed commands do not grow its header without bound.
func TestOnceKeepsNewestRetries(t *testing.T) {
	inc := newIncident(twoSteps)
	note := func(once string) error {
		_, err := escalate.Once(klaxon.Actor{By: "ops", How: "api", Once: once}, func(*klaxon.Incident, time.Time) (bool, error) {
			return true, nil
		})(inc, t0)
		return err
	}
	require.NoError(t, note("link:1:alice:ack"))
	retry := func(i int) string { return fmt.Sprintf("%sapi:%d", klaxon.OnceRetry, i) }
	for i := range klaxon.MaxRetries + 8 {
		require.NoError(t, note(retry(i)))
	}
	require.Len(t, inc.Once, 1+klaxon.MaxRetries)
	require.Equal(t, "link:1:alice:ack", inc.Once[0], "not a retry: kept")
	require.Equal(t, retry(8), inc.Once[1], "the oldest retries went")
	require.ErrorIs(t, note(retry(klaxon.MaxRetries+7)), klaxon.ErrUsed, "the newest still holds")
	require.ErrorIs(t, note("link:1:alice:ack"), klaxon.ErrUsed)
}

// TestOnce: an act named by Actor.Once changes an incident once; the
// change records it, and an act that failed or changed nothing does not,
// so it may be tried again.
func TestOnce(t *testing.T) {
	link := klaxon.Actor{By: "alice", How: "email", Once: "link:1:alice:ack"}
	ack := escalate.Once(link, func(inc *klaxon.Incident, now time.Time) (bool, error) { return incident.Acknowledge(inc, now, link) })
	failing := escalate.Once(link, func(*klaxon.Incident, time.Time) (bool, error) { return false, klaxon.ErrUnavailable })

	inc := newIncident(twoSteps)
	_, err := failing(inc, t0)
	require.ErrorIs(t, err, klaxon.ErrUnavailable)
	require.Empty(t, inc.Once, "a failed act leaves the link unused")

	changed, err := ack(inc, t0)
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, []string{"link:1:alice:ack"}, inc.Once)
	require.Equal(t, []string{"link:1:alice:ack"}, inc.Header().Once, "kept with the header")

	_, err = ack(inc, t0.Add(time.Minute))
	require.ErrorIs(t, err, klaxon.ErrUsed)
	require.Equal(t, t0, inc.AckedAt, "unchanged")

	// Another link, or an act that names none, is not held back by it.
	other := klaxon.Actor{By: "alice", How: "email", Once: "link:1:alice:resolve"}
	changed, err = escalate.Once(other, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		return incident.Resolve(inc, now, other), nil
	})(inc, t0.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, []string{"link:1:alice:ack", "link:1:alice:resolve"}, inc.Once)

	// An act that changes nothing (resolving a resolved incident) leaves
	// its link unused.
	again := klaxon.Actor{By: "bob", How: "email", Once: "link:2:bob:resolve"}
	changed, err = escalate.Once(again, func(inc *klaxon.Incident, now time.Time) (bool, error) {
		return incident.Resolve(inc, now, again), nil
	})(inc, t0.Add(2*time.Minute))
	require.NoError(t, err)
	require.False(t, changed)
	require.NotContains(t, inc.Once, "link:2:bob:resolve")
}
