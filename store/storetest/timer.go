package storetest

import (
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/stretchr/testify/require"
)

// claim calls Claim and checks what it returns.
func claim(t *testing.T, s klaxon.Store, now time.Time, lease time.Duration, max int, want []klaxon.Timer, wantNext time.Time) {
	t.Helper()
	due, next, err := s.Claim(t.Context(), now, lease, max)
	require.NoError(t, err)
	requireTimers(t, want, due)
	requireTime(t, wantNext, next, "next")
}

// testTimerClaim walks one timer through its life: not due, due, leased,
// lease expired, set again, cancelled.
func testTimerClaim(t *testing.T, open func() klaxon.Store) {
	const lease = 30 * time.Second
	s := connect(t, open)
	ctx := t.Context()
	at := t0.Add(time.Minute)
	timer := klaxon.Timer{Incident: "1", Group: "g", Due: at}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 0, Timers: []klaxon.Timer{timer}}))

	claim(t, s, t0, lease, 10, nil, at)                                       // not due: next is its due time
	claim(t, s, at, lease, 10, []klaxon.Timer{timer}, time.Time{})            // due: claimed, no other timer
	claim(t, s, at.Add(10*time.Second), lease, 10, nil, at.Add(lease))        // leased: next is the lease end
	claim(t, s, at.Add(lease), lease, 10, []klaxon.Timer{timer}, time.Time{}) // lease expired: claimed again

	// Setting the timer again clears its claim, though the lease, until
	// at+2*lease, still runs.
	again := klaxon.Timer{Incident: "1", Group: "g", Due: at.Add(40 * time.Second)}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 1, Timers: []klaxon.Timer{again}}))
	claim(t, s, again.Due.Add(-time.Second), lease, 10, nil, again.Due)
	claim(t, s, again.Due, lease, 10, []klaxon.Timer{again}, time.Time{})

	// A second incident's timer in the future shows up as next.
	later := klaxon.Timer{Incident: "2", Group: "g", Due: at.Add(time.Hour)}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 2, Timers: []klaxon.Timer{later}}))
	claim(t, s, again.Due, lease, 10, nil, again.Due.Add(lease))

	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 3, Cancel: []string{"1", "no-timer"}}))
	claim(t, s, again.Due, lease, 10, nil, later.Due) // cancelled: only the later timer is left
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 4, Cancel: []string{"2"}}))
	claim(t, s, at.Add(24*time.Hour), lease, 10, nil, time.Time{})
}

// testTimerOrder checks that Claim returns due timers earliest first and
// no more than max of them.
func testTimerOrder(t *testing.T, open func() klaxon.Store) {
	const lease = time.Minute
	s := connect(t, open)
	ctx := t.Context()
	timer := func(id string, minutes int) klaxon.Timer {
		return klaxon.Timer{Incident: id, Group: "g" + id, Due: t0.Add(time.Duration(minutes) * time.Minute)}
	}
	// Set out of order, from several groups; one not due yet at now.
	all := []klaxon.Timer{timer("5", 5), timer("1", 1), timer("3", 3), timer("2", 2), timer("4", 4), timer("20", 20)}
	for _, tm := range all {
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: tm.Group, Version: 0, Timers: []klaxon.Timer{tm}}))
	}
	now := t0.Add(10 * time.Minute)

	// next is in the past while due timers wait: claim again at once.
	claim(t, s, now, lease, 2, []klaxon.Timer{timer("1", 1), timer("2", 2)}, timer("3", 3).Due)
	claim(t, s, now, lease, 2, []klaxon.Timer{timer("3", 3), timer("4", 4)}, timer("5", 5).Due)
	// Then the leases taken at now end before the last timer is due.
	claim(t, s, now, lease, 2, []klaxon.Timer{timer("5", 5)}, now.Add(lease))
	claim(t, s, now, lease, 2, nil, now.Add(lease))
	// Once the leases end, the earliest come back first; next is when
	// the fourth was ready: its lease end, later than its due time.
	claim(t, s, now.Add(lease), lease, 3, []klaxon.Timer{timer("1", 1), timer("2", 2), timer("3", 3)}, now.Add(lease))
}
