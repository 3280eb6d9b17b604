package redis

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/redistest"
)

// TestClusterFailoverReusesIncidentID: on a cluster the incident counter
// (P:seq) lives on one master and the incidents on all of them. When
// that master fails over to a replica that had not yet received its last
// INCR (Redis replicates asynchronously: the last second can go), only
// the counter goes back: the incident opened with that ID lives on,
// open and paging, on another master. The next incident must not get
// the same ID: its commit would map the ID to its own group, and the
// first incident could no longer be read, acknowledged or resolved by
// its number (an SMS "42A" would acknowledge the other one). On a single
// server or Sentinel a lost INCR goes with the commits after it; only a
// cluster splits them. The store also reaches the promoted replica
// within seconds, where go-redis took a minute by default.
func TestClusterFailoverReusesIncidentID(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3)
	s := open(t, Options{Addrs: c.Addrs(), Prefix: "sq", Shards: 64})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	cc := s.rdb.(*redis.ClusterClient)
	require.Equal(t, clusterReload, cc.Options().ClusterStateReloadInterval, "the slot map is read again soon after a failover")

	seqMaster, err := cc.MasterForKey(ctx, s.seqKey())
	require.NoError(t, err)
	seqAddr := seqMaster.Options().Addr
	seqID, err := redistest.Do(seqAddr, "CLUSTER", "MYID")
	require.NoError(t, err)

	// A replica of the counter's master.
	replica := redistest.Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
	host, port, _ := strings.Cut(seqAddr, ":")
	_, err = redistest.Do(replica.Addr(), "CLUSTER", "MEET", host, port)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := redistest.Do(replica.Addr(), "CLUSTER", "REPLICATE", seqID)
		return err == nil
	}, 20*time.Second, 100*time.Millisecond, "the new node learns the master")
	require.Eventually(t, func() bool {
		info, err := redistest.Do(replica.Addr(), "INFO", "replication")
		return err == nil && strings.Contains(info, "master_link_status:up")
	}, 20*time.Second, 100*time.Millisecond, "the replica is in sync")
	replicaID, err := redistest.Do(replica.Addr(), "CLUSTER", "MYID")
	require.NoError(t, err)
	for _, n := range c.Nodes() {
		require.Eventually(t, func() bool {
			nodes, err := redistest.Do(n.Addr(), "CLUSTER", "NODES")
			return err == nil && strings.Contains(nodes, replicaID)
		}, 20*time.Second, 100*time.Millisecond, "every master knows the replica, so that its takeover is heard")
	}

	// Groups whose shards live on the other masters.
	var groups []string
	for i := 0; len(groups) < 2; i++ {
		g := fmt.Sprintf("alertname=Disk%d", i)
		m, err := cc.MasterForKey(ctx, s.tag(g))
		require.NoError(t, err)
		if m.Options().Addr != seqAddr {
			groups = append(groups, g)
		}
	}

	// The replica has everything so far.
	commitIncident(t, s, "warmup")
	reply, err := redistest.Do(seqAddr, "WAIT", "1", "15000")
	require.NoError(t, err)
	require.Equal(t, "1", reply)

	// The replica falls behind (its link drops, and it cannot reconnect
	// while stopped) while incident A opens: its INCR is on the master
	// only; its group's keys are on another master.
	replica.Pause(t)
	_, err = redistest.Do(seqAddr, "CLIENT", "KILL", "TYPE", "replica")
	require.NoError(t, err)
	a := commitIncident(t, s, groups[0], "am/a")

	// The master crashes; its replica takes over.
	c.Nodes()[nodeIndex(t, c, seqAddr)].Kill(t)
	replica.Resume(t)
	require.Eventually(t, func() bool {
		_, err := redistest.Do(replica.Addr(), "CLUSTER", "FAILOVER", "TAKEOVER")
		return err == nil
	}, 20*time.Second, 100*time.Millisecond)
	var b string
	promoted := time.Now()
	defer func() { t.Logf("the store reached the promoted replica %v after the takeover", time.Since(promoted)) }()
	require.Eventually(t, func() bool {
		b, err = s.NextIncidentID(ctx)
		return err == nil
	}, 120*time.Second, 100*time.Millisecond, "the promoted replica counts\n%s", func() string {
		out, _ := redistest.Do(replica.Addr(), "CLUSTER", "NODES")
		return out
	}())

	t.Logf("a=%s b=%s", a, b)
	require.NotEqual(t, a, b, "incident ID %s handed out again while incident %s is open", b, a)
}

func nodeIndex(t *testing.T, c *redistest.Cluster, addr string) int {
	for i, n := range c.Nodes() {
		if n.Addr() == addr {
			return i
		}
	}
	t.Fatalf("no node %s", addr)
	return -1
}
