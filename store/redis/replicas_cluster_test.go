package redis

import (
	"fmt"
	"net"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// startClusterWithReplicas is a 3-master cluster, each master with one
// replica: replicas[i] is masters[i]'s.
func startClusterWithReplicas(tb testing.TB) (masters, replicas []*redistest.Server) {
	tb.Helper()
	masters = redistest.StartCluster(tb, 3).Nodes()
	for _, m := range masters {
		id, err := redistest.Do(m.Addr(), "CLUSTER", "MYID")
		require.NoError(tb, err)
		r := redistest.Start(tb, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
		host, port, _ := net.SplitHostPort(m.Addr())
		_, err = redistest.Do(r.Addr(), "CLUSTER", "MEET", host, port)
		require.NoError(tb, err)
		require.Eventually(tb, func() bool {
			_, err := redistest.Do(r.Addr(), "CLUSTER", "REPLICATE", id)
			return err == nil
		}, 20*time.Second, 100*time.Millisecond)
		require.Eventually(tb, func() bool {
			reply, err := redistest.Do(m.Addr(), "WAIT", "1", "100")
			return err == nil && reply == "1"
		}, 30*time.Second, 100*time.Millisecond)
		replicas = append(replicas, r)
	}
	return masters, replicas
}

// TestReplicatedIncidentIDOnCluster: on a Cluster, a commit that opens
// an incident writes its ID's map to its group (P:id:<id>) ahead, on
// whichever master holds that key, not the group's. The delivery that
// opened the incident is answered once replicas hold its writes; the
// map is one of them: lost in a failover of its master, the incident
// can no longer be read, acknowledged or resolved by its number (an
// SMS reply, an ack link, the API), and its ID may be handed out again
// (the counter and the reservation go back with it). Here the map's
// master has no replica that acknowledges; the group's master has one.
// The delivery must not be answered as taken.
func TestReplicatedIncidentIDOnCluster(t *testing.T) {
	t.Parallel()
	masters, replicas := startClusterWithReplicas(t)
	addrs := make([]string, len(masters))
	for i, m := range masters {
		addrs[i] = m.Addr()
	}
	s := open(t, Options{Addrs: addrs, Prefix: "idw", WaitReplicas: 1, WaitTimeout: time.Second})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	cc := s.rdb.(*goredis.ClusterClient)
	masterOfKey := func(key string) string {
		c, err := cc.MasterForKey(ctx, key)
		require.NoError(t, err)
		return c.Options().Addr
	}

	idAddr := masterOfKey(s.idKey("1")) // the first incident's ID is 1
	group := ""
	for i := 0; group == ""; i++ {
		if g := fmt.Sprintf("alertname=Disk%d", i); masterOfKey(s.tag(g)) != idAddr {
			group = g
		}
	}
	for i, m := range masters {
		if m.Addr() == idAddr {
			replicas[i].Pause(t) // no replica acknowledges the ID's map
			t.Cleanup(func() { replicas[i].Resume(t) })
		}
	}

	// A delivery: its barrier, its commit, then its wait.
	wait := s.Barrier(ctx, []string{group})
	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	require.Equal(t, "1", id)
	inc := &klaxon.Incident{ID: id, Group: group, State: klaxon.StateTriggered, CreatedAt: t0}
	err = s.Commit(ctx, klaxon.Commit{Group: group, Open: id, Incidents: []*klaxon.Incident{inc}})
	if err == nil {
		err = wait(ctx)
	}
	require.ErrorIs(t, err, klaxon.ErrUnavailable,
		"the delivery that opened incident %s is answered while its ID's map (on %s) is on no replica", id, idAddr)

	// The sender's retry finds the incident open and writes nothing:
	// it waits for the ID's map all the same, here and once the
	// replica is back.
	require.ErrorIs(t, s.Barrier(ctx, []string{group})(ctx), klaxon.ErrUnavailable, "the retry, with the replica still stopped")
	for i, m := range masters {
		if m.Addr() == idAddr {
			replicas[i].Resume(t)
		}
	}
	require.NoError(t, s.Barrier(ctx, []string{group})(ctx), "the retry, once the replica is back")
}
