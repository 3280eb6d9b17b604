package redis

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/store/storetest"
	"github.com/redis/go-redis/v9"
)

// TestListStateChanged: an incident whose state changed between the
// list's read of IDs and its read of headers (staged: a triggered set
// that still names resolved incidents) is left out, and the page is
// filled from the incidents older than those read, so that a full page
// still says there may be more.
func TestListStateChanged(t *testing.T) {
	t.Parallel()
	s := open(t, Options{Addrs: []string{redistest.Start(t).Addr()}, Shards: 4})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	var open []string // newest first
	for i := range 6 {
		open = append([]string{commitIncident(t, s, fmt.Sprintf("g%d", i), "am/x")}, open...)
	}
	// Two newer incidents, resolved, each still named by its shard's
	// triggered set, as a list that read the set just before the commit
	// that resolved it would find it.
	for i := range 2 {
		group := fmt.Sprintf("r%d", i)
		id := commitIncident(t, s, group, "am/y")
		inc, err := s.Incident(ctx, id)
		require.NoError(t, err)
		g, err := s.Group(ctx, group, nil)
		require.NoError(t, err)
		inc.State = klaxon.StateResolved
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: group, Version: g.Version, Incidents: []*klaxon.Incident{inc}}))
		require.NoError(t, s.rdb.ZAdd(ctx, stateKey(s.tag(group), klaxon.StateTriggered), redisZ(id)).Err())
	}

	list, err := s.Incidents(ctx, klaxon.IncidentFilter{Limit: 3})
	require.NoError(t, err)
	require.Equal(t, open[:3], storetest.IDs(list))
	list, err = s.Incidents(ctx, klaxon.IncidentFilter{Limit: 3, Before: open[2]})
	require.NoError(t, err)
	require.Equal(t, open[3:], storetest.IDs(list))
}

func redisZ(id string) redis.Z { return redis.Z{Score: score(id), Member: id} }
