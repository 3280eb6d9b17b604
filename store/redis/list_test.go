package redis

import (
	"context"
	"fmt"
	"sync/atomic"
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

// TestListNarrowedReadsAPage: a list narrowed by policy reads the IDs of
// the states a batch at a time, newest first, until Limit incidents pass,
// not every ID the states hold; and pages on through them when it must.
func TestListNarrowedReadsAPage(t *testing.T) {
	t.Parallel()
	s := open(t, Options{Addrs: []string{redistest.Start(t).Addr()}, Shards: 1})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	n := 2*listBatch + 10
	var loud []string // newest first
	for i := range n {
		policy := "quiet"
		if i < 2 || i >= n-2 {
			policy = "loud"
		}
		id := commitIncidentOf(t, s, fmt.Sprintf("g%d", i), policy)
		if policy == "loud" {
			loud = append([]string{id}, loud...)
		}
	}
	listed := &listedIDs{}
	s.rdb.AddHook(listed)

	list, err := s.Incidents(ctx, klaxon.IncidentFilter{Policy: "loud", Limit: 2})
	require.NoError(t, err)
	require.Equal(t, loud[:2], storetest.IDs(list))
	require.Equal(t, int64(listBatch), listed.n.Swap(0), "one batch of IDs read")

	list, err = s.Incidents(ctx, klaxon.IncidentFilter{Policy: "loud", Limit: 3})
	require.NoError(t, err)
	require.Equal(t, loud[:3], storetest.IDs(list), "the oldest loud one, past two batches of quiet ones")
	require.Equal(t, int64(n), listed.n.Swap(0))

	list, err = s.Incidents(ctx, klaxon.IncidentFilter{Policy: "loud", Before: loud[1]})
	require.NoError(t, err)
	require.Equal(t, loud[2:], storetest.IDs(list), "no limit: every batch")
}

// listedIDs counts the IDs that sorted-set reads return.
type listedIDs struct{ n atomic.Int64 }

func (h *listedIDs) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *listedIDs) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *listedIDs) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			if z, ok := c.(*redis.ZSliceCmd); ok {
				h.n.Add(int64(len(z.Val())))
			}
		}
		return err
	}
}

// TestListNarrowedReadsEachIDOnce: a list narrowed by policy, on a
// store of several shards (the default is 256), reads each ID of the
// states about once. Each batch asks every shard's sets for listBatch
// IDs below the last kept, keeps the newest listBatch of them all, and
// asks every shard again from there: the IDs past the batch kept are
// read again in the next batch, and again, so that a filter few
// incidents pass reads the states' IDs over and over, quadratic in the
// incidents held (GET /v1/incidents?policy=none&limit=10: 0.29 s with
// 5,000 open, 1.1 s with 20,000, and 3.1 s during a storm, on
// loopback, where the embedded store takes 0.08 s).
func TestListNarrowedReadsEachIDOnce(t *testing.T) {
	t.Parallel()
	for _, shards := range []int{8, 2} { // 2: each shard holds more than a batch
		t.Run(fmt.Sprintf("%d shards", shards), func(t *testing.T) {
			t.Parallel()
			listNarrowed(t, shards)
		})
	}
}

func listNarrowed(t *testing.T, shards int) {
	s := open(t, Options{Addrs: []string{redistest.Start(t).Addr()}, Shards: shards})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	n := 2*listBatch + 10
	var loud []string // newest first
	for i := range n {
		policy := "quiet"
		if i < 2 {
			policy = "loud"
		}
		id := commitIncidentOf(t, s, fmt.Sprintf("g%d", i), policy)
		if policy == "loud" {
			loud = append([]string{id}, loud...)
		}
	}
	listed := &listedIDs{}
	s.rdb.AddHook(listed)

	tests := []struct {
		name   string
		filter klaxon.IncidentFilter
		want   []string
	}{
		{"a policy none has", klaxon.IncidentFilter{Policy: "none", Limit: 10}, []string{}},
		{"the oldest pass", klaxon.IncidentFilter{Policy: "loud", Limit: 10}, loud},
		{"of every state", klaxon.IncidentFilter{States: klaxon.States(), Policy: "loud", Limit: 10}, loud},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.Incidents(ctx, tt.filter)
			require.NoError(t, err)
			require.Equal(t, tt.want, storetest.IDs(list))
			// About once: what a batch reads past its cut-off is read
			// again by the next one.
			require.LessOrEqual(t, listed.n.Swap(0), int64(n+n/10), "IDs read from the state sets, of %d", n)
		})
	}
}
