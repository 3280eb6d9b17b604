package ingest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/klaxonhq/klaxon/store/redis"
)

// holder is the index of the master that holds a key matching pattern.
func holder(t *testing.T, masters []*redistest.Server, pattern string) int {
	t.Helper()
	for i, m := range masters {
		keys, err := redistest.Do(m.Addr(), "KEYS", pattern)
		require.NoError(t, err)
		if strings.TrimSpace(keys) != "" {
			return i
		}
	}
	t.Fatalf("no master holds %s", pattern)
	return -1
}

// TestHeartbeatPingWaitsForReplicasOnCluster: with wait_replicas, a
// heartbeat ping is answered once replicas hold what it committed, as a
// webhook is (README, Durability). On a Cluster, the ping's commit (the
// new deadline, in the heartbeat's group) is in another shard than the
// group its resolve is routed to: while the deadline's replica does not
// acknowledge, the ping is not answered as taken (else a failover would
// fire the old deadline, a false "heartbeat missed" page).
func TestHeartbeatPingWaitsForReplicasOnCluster(t *testing.T) {
	masters, replicas := redistest.StartClusterWithReplicas(t)
	addrs := make([]string, len(masters))
	for i, m := range masters {
		addrs[i] = m.Addr()
	}
	st, err := redis.Open(t.Context(), redis.Options{Addrs: addrs, WaitReplicas: 1, WaitTimeout: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	p := ingest.NewPipeline(st, func() ingest.Router { return byGroupLabel{} }, nil, time.Now)
	hb := ingest.NewHeartbeats(st, p, func(string) (ingest.Heartbeat, bool) {
		return ingest.Heartbeat{Interval: time.Minute, Grace: time.Minute}, true
	}, time.Now)

	// The resolve of every ping goes to group {group=} (no group label),
	// which an alert of no group opens here, so that its key shows where
	// its shard is.
	require.NoError(t, p.Accept(t.Context(), []klaxon.Alert{{Key: "am/x", Integration: "am", Status: klaxon.Firing,
		Summary: "x", Labels: map[string]string{"alertname": "x"}, StartsAt: time.Now()}}))
	routed := holder(t, masters, "*:g:{group=}")
	name := ""
	var hbMaster int
	for i := range 50 {
		n := "nightly-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		require.NoError(t, hb.Ping(t.Context(), n))
		if h := holder(t, masters, "*:g:"+klaxon.HeartbeatGroup(n)); h != routed {
			name, hbMaster = n, h
			break
		}
	}
	require.NotEmpty(t, name, "a heartbeat whose group is on another master than the routed group")

	replicas[hbMaster].Pause(t) // no replica acknowledges the heartbeat's shard
	defer replicas[hbMaster].Resume(t)
	err = hb.Ping(t.Context(), name)
	require.ErrorIs(t, err, klaxon.ErrUnavailable, "the ping is answered while no replica holds its deadline")
}

// pausing is a Redis store that pauses a replica once its first commit
// has landed: a barrier sent after the commit finds the replica gone.
type pausing struct {
	*redis.Store
	pause func()
	once  sync.Once
}

func (p *pausing) Commit(ctx context.Context, c klaxon.Commit) error {
	err := p.Store.Commit(ctx, c)
	p.once.Do(p.pause)
	return err
}

// TestAcceptWaitsAfterItsCommits: the wait for replicas comes after the
// delivery's commits, which it vouches for: the replica stops as the
// commit lands, and the delivery is not answered as accepted. A wait
// sent before the commit would find the replica still there.
func TestAcceptWaitsAfterItsCommits(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.StartReplica(t, master)
	st, err := redis.Open(t.Context(), redis.Options{Addrs: []string{master.Addr()}, WaitReplicas: 1, WaitTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })

	p := ingest.NewPipeline(&pausing{Store: st, pause: func() { replica.Pause(t) }}, func() ingest.Router { return byGroupLabel{} }, nil, time.Now)
	err = p.Accept(t.Context(), []klaxon.Alert{{Key: "am/x", Integration: "am", Status: klaxon.Firing,
		Summary: "x", Labels: map[string]string{"alertname": "x"}, StartsAt: time.Now()}})
	require.ErrorIs(t, err, klaxon.ErrUnavailable)
}
