package redis

import (
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// migrating opens a store of one shard on a fresh 3-master cluster, with
// an incident open in group "g" whose timer the engine has claimed (so
// that every key commit.lua declares exists), and returns the store, the
// incident's ID and a function that puts the shard's slot in the middle
// of a migration to another master (as `redis-cli --cluster reshard` does
// before it moves the first key) and one that ends it.
func migrating(t *testing.T) (s *Store, id string, start, stop func()) {
	t.Helper()
	c := redistest.StartCluster(t, 3)
	s = open(t, Options{Addrs: c.Addrs(), Prefix: "mig", Shards: 1})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	id = commitIncident(t, s, "g", "am/a")
	due, _, err := s.Claim(ctx, t0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)

	tag := s.tag("g")
	slot, err := s.rdb.ClusterKeySlot(ctx, tag).Result()
	require.NoError(t, err)
	owner, err := s.rdb.(*redis.ClusterClient).MasterForKey(ctx, tag)
	require.NoError(t, err)
	src := owner.Options().Addr
	var dst string
	for _, a := range c.Addrs() {
		if a != src {
			dst = a
			break
		}
	}
	srcID, err := redistest.Do(src, "CLUSTER", "MYID")
	require.NoError(t, err)
	dstID, err := redistest.Do(dst, "CLUSTER", "MYID")
	require.NoError(t, err)
	n := itoa(slot)
	start = func() {
		_, err := redistest.Do(dst, "CLUSTER", "SETSLOT", n, "IMPORTING", srcID)
		require.NoError(t, err)
		_, err = redistest.Do(src, "CLUSTER", "SETSLOT", n, "MIGRATING", dstID)
		require.NoError(t, err)
	}
	stop = func() {
		for _, a := range []string{src, dst} {
			_, err := redistest.Do(a, "CLUSTER", "SETSLOT", n, "STABLE")
			require.NoError(t, err)
		}
	}
	return s, id, start, stop
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestClusterMigratingAckHalfWritten: an acknowledgement committed while
// the incident's slot is being migrated (a routine reshard) runs
// commit.lua on the source, which declares the keys it has; the script
// then writes a key it builds and does not declare (the shard's set of
// acknowledged incidents, new on that node), which Redis refuses in a
// migrating slot. Redis does not roll a script back: what it wrote before
// stays. The incident has left the set of triggered incidents, its header
// says acknowledged, and the group's version did not move, so the same
// acknowledgement, sent again once the migration ends, finds the header
// acknowledged already and never adds the incident to the set of
// acknowledged ones: the open incident is gone from every list.
func TestClusterMigratingAckHalfWritten(t *testing.T) {
	t.Parallel()
	s, id, start, stop := migrating(t)
	ctx := t.Context()
	g, err := s.Group(ctx, "g", nil)
	require.NoError(t, err)

	start()
	inc := g.Open
	inc.State = klaxon.StateAcknowledged
	err = s.Commit(ctx, klaxon.Commit{Group: "g", Version: g.Version, Open: id, Incidents: []*klaxon.Incident{inc}})
	t.Logf("commit during the migration: %v", err)
	stop()

	// Whatever that commit answered, the incident is listed as open, in
	// one state or the other.
	open, err := s.Incidents(ctx, klaxon.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, open, 1, "the open incident %s is listed (triggered or acknowledged)", id)

	// And the acknowledgement, sent again once the slot is stable, lists
	// it as acknowledged.
	g, err = s.Group(ctx, "g", nil)
	require.NoError(t, err)
	inc = g.Open
	inc.State = klaxon.StateAcknowledged
	if err := s.Commit(ctx, klaxon.Commit{Group: "g", Version: g.Version, Open: id, Incidents: []*klaxon.Incident{inc}}); err != nil {
		require.ErrorIs(t, err, klaxon.ErrConflict)
	}
	acked, err := s.Incidents(ctx, klaxon.IncidentFilter{States: []klaxon.State{klaxon.StateAcknowledged}})
	require.NoError(t, err)
	require.Len(t, acked, 1, "incident %s is listed acknowledged", id)
}

// TestClusterMigratingCommitUnavailable: a commit refused because its
// slot is being migrated (Redis: "Script attempted to access a non local
// key in a cluster node") is a state that passes, as CLUSTERDOWN, ASK or
// TRYAGAIN are: it must match ErrUnavailable (503, tried again), not be
// an internal error (500 at the HTTP edge).
func TestClusterMigratingCommitUnavailable(t *testing.T) {
	t.Parallel()
	s, id, start, stop := migrating(t)
	ctx := t.Context()
	g, err := s.Group(ctx, "g", nil)
	require.NoError(t, err)
	start()
	t.Cleanup(stop)
	inc := g.Open
	inc.State = klaxon.StateAcknowledged
	err = s.Commit(ctx, klaxon.Commit{Group: "g", Version: g.Version, Open: id, Incidents: []*klaxon.Incident{inc}})
	if err != nil {
		require.ErrorIs(t, err, klaxon.ErrUnavailable, "a commit refused mid-migration")
	}
}
