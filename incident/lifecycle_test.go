package incident_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

func triggered() *klaxon.Incident {
	return &klaxon.Incident{
		ID: "1", State: klaxon.StateTriggered, Seq: 4,
		Escalation: klaxon.Escalation{Step: 1, Round: 0, NextAt: t0.Add(5 * time.Minute)},
		Pending:    []klaxon.Notification{{ID: 4, User: "alice", Via: klaxon.ViaSMS, Due: t0.Add(time.Minute)}},
	}
}

func TestLifecycle(t *testing.T) {
	alice := klaxon.Actor{By: "alice", How: "sms"}
	t.Run("acknowledge silences, once", func(t *testing.T) {
		inc := triggered()
		changed, err := incident.Acknowledge(inc, t0, alice)
		require.NoError(t, err)
		require.True(t, changed)
		require.Equal(t, klaxon.StateAcknowledged, inc.State)
		require.Equal(t, "alice", inc.AckedBy)
		require.Empty(t, inc.Pending)
		require.Zero(t, inc.Escalation.NextAt)
		require.Equal(t, klaxon.EventAcknowledged, inc.Recorded[len(inc.Recorded)-1].Kind)
		changed, err = incident.Acknowledge(inc, t0.Add(time.Minute), klaxon.Actor{By: "bob"})
		require.NoError(t, err)
		require.False(t, changed)
		require.Equal(t, "alice", inc.AckedBy, "the first acknowledgement stays")
	})
	t.Run("acknowledging again restarts an ack timeout, and leaves a snooze", func(t *testing.T) {
		inc := triggered()
		inc.Policy.AckTimeout = 30 * time.Minute
		_, err := incident.Acknowledge(inc, t0, alice)
		require.NoError(t, err)
		changed, err := incident.Acknowledge(inc, t0.Add(20*time.Minute), klaxon.Actor{By: "bob", How: "api"})
		require.NoError(t, err)
		require.True(t, changed)
		require.Equal(t, t0.Add(20*time.Minute), inc.AckedAt, "the timeout counts from here")
		require.Equal(t, "bob", inc.AckedBy)
		last := inc.Recorded[len(inc.Recorded)-1]
		require.Equal(t, klaxon.EventAcknowledged, last.Kind)
		require.Equal(t, "again: the ack timeout of 30m0s restarts", last.Text)

		require.NoError(t, incident.Snooze(inc, t0.Add(21*time.Minute), time.Hour, 0, alice))
		changed, err = incident.Acknowledge(inc, t0.Add(22*time.Minute), klaxon.Actor{By: "bob", How: "api"})
		require.NoError(t, err)
		require.False(t, changed, "the snooze runs")
		require.Equal(t, t0.Add(81*time.Minute), inc.SnoozedUntil)
	})
	t.Run("a tool's acknowledge event again changes nothing", func(t *testing.T) {
		// A sender of PagerDuty events may send acknowledge each time its
		// check runs: it would put the ack timeout off for ever, and take
		// the acknowledgement from the person who made it.
		inc := triggered()
		inc.Policy.AckTimeout = 30 * time.Minute
		_, err := incident.Acknowledge(inc, t0, alice)
		require.NoError(t, err)
		changed, err := incident.Acknowledge(inc, t0.Add(20*time.Minute), klaxon.Actor{By: "monitor", How: klaxon.HowEvents})
		require.NoError(t, err)
		require.False(t, changed)
		require.Equal(t, t0, inc.AckedAt)
		require.Equal(t, "alice", inc.AckedBy)
	})
	t.Run("a resolved incident is not acknowledged or snoozed", func(t *testing.T) {
		inc := triggered()
		require.True(t, incident.Resolve(inc, t0, alice))
		require.False(t, incident.Resolve(inc, t0, alice), "resolving twice changes nothing")
		_, err := incident.Acknowledge(inc, t0, alice)
		require.ErrorIs(t, err, klaxon.ErrConflict)
		require.ErrorIs(t, incident.Snooze(inc, t0, time.Minute, 0, alice), klaxon.ErrConflict)
	})
	t.Run("snooze acknowledges until then", func(t *testing.T) {
		inc := triggered()
		require.NoError(t, incident.Snooze(inc, t0, time.Hour, 0, alice))
		require.Equal(t, klaxon.StateAcknowledged, inc.State)
		require.Equal(t, t0.Add(time.Hour), inc.SnoozedUntil)
		require.Empty(t, inc.Pending)
	})
	t.Run("retrigger walks again from the first step", func(t *testing.T) {
		inc := triggered()
		require.NoError(t, incident.Snooze(inc, t0, time.Hour, 0, alice))
		incident.Retrigger(inc, t0.Add(time.Hour), "snooze ended")
		require.Equal(t, klaxon.StateTriggered, inc.State)
		require.Zero(t, inc.SnoozedUntil)
		require.Empty(t, inc.AckedBy)
		require.Equal(t, klaxon.Escalation{Step: -1}, inc.Escalation)
		require.Equal(t, 4, inc.WalkFrom, "the walk starts anew here")
		last := inc.Recorded[len(inc.Recorded)-1]
		require.Equal(t, klaxon.EventTriggered, last.Kind)
		require.Equal(t, "snooze ended", last.Text)
	})
	t.Run("trigger keeps a triggered incident's walk", func(t *testing.T) {
		inc := triggered()
		inc.WalkFrom = 2
		incident.Trigger(inc)
		require.Equal(t, 2, inc.WalkFrom)
		require.Equal(t, klaxon.Escalation{Step: 1, Round: 0, NextAt: t0.Add(5 * time.Minute)}, inc.Escalation, "the caller's to set")
	})
}

// TestSnoozeBound: a snooze lasts a positive duration, at most seven days
// or the bound it is given.
func TestSnoozeBound(t *testing.T) {
	t.Run("a snooze needs a positive duration", func(t *testing.T) {
		require.ErrorIs(t, incident.Snooze(triggered(), t0, 0, 0, klaxon.Actor{By: "ops", How: "api"}), klaxon.ErrInvalid)
	})

	for _, tc := range []struct {
		name     string
		d, limit time.Duration
		want     string // the error, "" for none
	}{
		{name: "seven days by default", d: klaxon.DefaultMaxSnooze},
		{name: "a moment past seven days", d: klaxon.DefaultMaxSnooze + time.Second, want: "duration: a snooze lasts at most 7 days, got 168h0m1s: resolve the incident instead"},
		{name: "an unbounded snooze", d: 2562047 * time.Hour, want: "duration: a snooze lasts at most 7 days, got 2562047h0m0s: resolve the incident instead"},
		{name: "a bound of its own", d: 2 * time.Hour, limit: time.Hour, want: "duration: a snooze lasts at most 1h0m0s, got 2h0m0s: resolve the incident instead"},
		{name: "up to a bound of its own", d: 30 * 24 * time.Hour, limit: 30 * 24 * time.Hour},
	} {
		t.Run("bound: "+tc.name, func(t *testing.T) {
			inc := triggered()
			err := incident.Snooze(inc, t0, tc.d, tc.limit, klaxon.Actor{By: "ops", How: "api"})
			if tc.want == "" {
				require.NoError(t, err)
				require.Equal(t, t0.Add(tc.d), inc.SnoozedUntil)
				return
			}
			require.ErrorIs(t, err, klaxon.ErrInvalid)
			require.EqualError(t, err, tc.want)
			require.Equal(t, klaxon.StateTriggered, inc.State, "unchanged")
			require.Empty(t, inc.Recorded)
		})
	}
}
