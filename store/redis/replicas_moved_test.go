package redis

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// TestReplicatedRoundSentToAnotherMaster: the round of a wait is sent
// to the master address its callers marked: when the slot map names
// another by the time it goes (a Cluster's map read again after a
// failover), the wait fails rather than vouch on the new master for
// writes the marked one took.
//
// Here x, the shard's master when marked, has no replica (what it took
// is on none); y, the master the slot map names once read again, has
// one. r.client is the slot map; the hook on send reads it again just
// before the round goes, as a reload while the round waited its turn.
func TestReplicatedRoundSentToAnotherMaster(t *testing.T) {
	t.Parallel()
	x := redistest.Start(t)
	y := redistest.Start(t)
	redistest.StartReplica(t, y)

	cx := goredis.NewClient(&goredis.Options{Addr: x.Addr()})
	cy := goredis.NewClient(&goredis.Options{Addr: y.Addr()})
	t.Cleanup(func() { cx.Close(); cy.Close() })
	var reloaded atomic.Bool
	r := &replication{replicas: 1, timeout: 2 * time.Second,
		key: func(tag string) string { return tag + ":wait" },
		client: func(context.Context, string) (*goredis.Client, error) {
			if reloaded.Load() {
				return cy, nil
			}
			return cx, nil
		},
		barriers: map[string]*masterBarrier{}, runs: map[string]string{}, gens: map[string]uint64{}}
	r.send = func(rd *round) error {
		reloaded.Store(true) // the slot map, read again while the round waited its turn
		return r.sendRound(rd)
	}
	t.Cleanup(r.close)
	require.NoError(t, r.learn(t.Context(), []string{"{p:s0}"}))

	wait := r.barrier(t.Context(), []string{"{p:s0}"})
	require.NoError(t, cx.HSet(t.Context(), "{p:s0}:g:a", "v", "1").Err(), "the delivery's commit, on x")
	err := wait(t.Context())
	require.ErrorIs(t, err, klaxon.ErrUnavailable,
		"the wait passed on a round written and acknowledged on %s, while the writes it vouches for are on %s, which has no replica",
		y.Addr(), x.Addr())
}
