package storetest

import (
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/stretchr/testify/require"
)

// claim calls Claim, checks what it returns, and returns the claim's
// token ("" when it claimed nothing).
func claim(t *testing.T, s klaxon.Store, now time.Time, lease time.Duration, max int, want []klaxon.Timer, wantNext time.Time) string {
	t.Helper()
	due, next, err := s.Claim(t.Context(), now, lease, max)
	require.NoError(t, err)
	requireTimers(t, want, due)
	requireTime(t, wantNext, next, "next")
	token := ""
	for i, tm := range due {
		require.NotEmpty(t, tm.Claim, "a claimed timer carries its claim's token")
		if i > 0 {
			require.Equal(t, token, tm.Claim, "one claim, one token")
		}
		token = tm.Claim
	}
	return token
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

	claim(t, s, t0, lease, 10, nil, at)                                                // not due: next is its due time
	first := claim(t, s, at, lease, 10, []klaxon.Timer{timer}, time.Time{})            // due: claimed, no other timer
	claim(t, s, at.Add(10*time.Second), lease, 10, nil, at.Add(lease))                 // leased: next is the lease end
	token := claim(t, s, at.Add(lease), lease, 10, []klaxon.Timer{timer}, time.Time{}) // lease expired: claimed again
	require.NotEqual(t, first, token, "each claim has its own token")

	// Its holder setting the timer again releases its claim, though the
	// lease, until at+2*lease, still runs.
	again := klaxon.Timer{Incident: "1", Group: "g", Due: at.Add(40 * time.Second)}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 1, Timers: []klaxon.Timer{again}, Claim: token}))
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

// testTimerFence checks that a claim is released only by a commit that
// carries its token: a timer set, moved or cancelled by another writer,
// or by a holder whose lease ended and was claimed again, stays claimed.
func testTimerFence(t *testing.T, open func() klaxon.Store) {
	const lease = 30 * time.Second
	s := connect(t, open)
	ctx := t.Context()
	version := uint64(0)
	commit := func(c klaxon.Commit) {
		t.Helper()
		c.Group, c.Version = "g", version
		require.NoError(t, s.Commit(ctx, c))
		version++
	}
	timer := klaxon.Timer{Incident: "1", Group: "g", Due: t0}
	commit(klaxon.Commit{Timers: []klaxon.Timer{timer}})
	a := claim(t, s, t0, lease, 10, []klaxon.Timer{timer}, time.Time{})

	// Another writer (a delivery report, say) makes the timer due now,
	// with no claim: A still holds it, and nobody claims it before A's
	// lease ends.
	commit(klaxon.Commit{Timers: []klaxon.Timer{timer}})
	claim(t, s, t0.Add(time.Second), lease, 10, nil, t0.Add(lease))
	// Another writer with a wrong token cannot release it either.
	commit(klaxon.Commit{Timers: []klaxon.Timer{timer}, Claim: "not-" + a})
	claim(t, s, t0.Add(time.Second), lease, 10, nil, t0.Add(lease))
	// Cancelled and set again by others, it is still A's.
	commit(klaxon.Commit{Cancel: []string{"1"}})
	claim(t, s, t0.Add(time.Second), lease, 10, nil, time.Time{})
	commit(klaxon.Commit{Timers: []klaxon.Timer{timer}})
	claim(t, s, t0.Add(time.Second), lease, 10, nil, t0.Add(lease))

	// A's lease ends and B claims the timer. A's late commit, with its
	// old token, leaves B's claim in place.
	b := claim(t, s, t0.Add(lease), lease, 10, []klaxon.Timer{timer}, time.Time{})
	commit(klaxon.Commit{Timers: []klaxon.Timer{timer}, Claim: a})
	claim(t, s, t0.Add(lease+time.Second), lease, 10, nil, t0.Add(2*lease))
	commit(klaxon.Commit{Cancel: []string{"1"}, Claim: a})
	commit(klaxon.Commit{Timers: []klaxon.Timer{timer}})
	claim(t, s, t0.Add(lease+time.Second), lease, 10, nil, t0.Add(2*lease))

	// B's own commit releases it: the timer is free at once.
	commit(klaxon.Commit{Timers: []klaxon.Timer{timer}, Claim: b})
	claim(t, s, t0.Add(lease+time.Second), lease, 10, []klaxon.Timer{timer}, time.Time{})
}

// testTimerRenew checks that Renew extends the claims still held with
// their tokens and reports the others as lost.
func testTimerRenew(t *testing.T, open func() klaxon.Store) {
	const lease = 30 * time.Second
	s := connect(t, open)
	ctx := t.Context()
	one := klaxon.Timer{Incident: "1", Group: "g1", Due: t0}
	two := klaxon.Timer{Incident: "2", Group: "g2", Due: t0}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g1", Timers: []klaxon.Timer{one}}))
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g2", Timers: []klaxon.Timer{two}}))
	due, _, err := s.Claim(ctx, t0, lease, 10)
	require.NoError(t, err)
	require.Len(t, due, 2)
	a := due[0].Claim

	// Renewed at t0+20s, the leases run to t0+50s.
	lost, err := s.Renew(ctx, t0.Add(20*time.Second), lease, due)
	require.NoError(t, err)
	require.Empty(t, lost)
	claim(t, s, t0.Add(40*time.Second), lease, 10, nil, t0.Add(50*time.Second))
	// Nothing else was claimed meanwhile: renewed late, after its lease
	// ended, a claim is still held.
	lost, err = s.Renew(ctx, t0.Add(60*time.Second), lease, due)
	require.NoError(t, err)
	require.Empty(t, lost)
	claim(t, s, t0.Add(80*time.Second), lease, 10, nil, t0.Add(90*time.Second))
	// A renewal from a clock behind does not shorten a lease.
	lost, err = s.Renew(ctx, t0, lease, due)
	require.NoError(t, err)
	require.Empty(t, lost)
	claim(t, s, t0.Add(80*time.Second), lease, 10, nil, t0.Add(90*time.Second))

	// Incident 2's lease ends and B claims it; incident 1 its holder
	// releases. A holds neither now.
	b := claim(t, s, t0.Add(90*time.Second), lease, 1, []klaxon.Timer{one}, t0.Add(90*time.Second))
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g1", Version: 1, Timers: []klaxon.Timer{one}, Claim: b}))
	claim(t, s, t0.Add(90*time.Second), lease, 10, []klaxon.Timer{one, two}, time.Time{})
	lost, err = s.Renew(ctx, t0.Add(95*time.Second), lease, due)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"1", "2"}, lost)
	// A token never claimed, or none, holds nothing.
	lost, err = s.Renew(ctx, t0.Add(95*time.Second), lease, []klaxon.Timer{{Incident: "1", Group: "g1", Claim: a + "x"}, {Incident: "3", Group: "g3"}})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"1", "3"}, lost)
	lost, err = s.Renew(ctx, t0.Add(95*time.Second), lease, nil)
	require.NoError(t, err)
	require.Empty(t, lost)
}
