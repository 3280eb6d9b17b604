package redis

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// TestReplicatedIncidentIDMapLostInFailover: the case the wait for the
// ID map's master is for. A delivery opens incident 1; its ID's map
// (P:id:1) is on a master whose replica is behind, so the wait answers
// 503, as it should. Then that master's host is lost and the replica,
// without the map, takes over; it gets a replica of its own. The
// sender's retry finds the incident open in its group (on another
// master) and commits nothing: it must not be answered 2xx while the
// map is lost, or the incident can no longer be read or acted on by its
// number. The retry writes the map again, as it writes again a group's
// keys that a failover lost.
func TestReplicatedIncidentIDMapLostInFailover(t *testing.T) {
	t.Parallel()
	masters, replicas := redistest.StartClusterWithReplicas(t)
	s, idAddr, group := idMapRig(t, masters, "idf")
	ctx := t.Context()
	mi := 0
	for masters[mi].Addr() != idAddr {
		mi++
	}

	// The ID's master's replica falls behind: its link drops, and it
	// cannot reconnect while stopped.
	replicas[mi].Pause(t)
	_, err := redistest.Do(idAddr, "CLIENT", "KILL", "TYPE", "replica")
	require.NoError(t, err)

	wait := s.Barrier(ctx, []string{group})
	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	require.Equal(t, "1", id)
	inc := &klaxon.Incident{ID: id, Group: group, State: klaxon.StateTriggered, CreatedAt: t0}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: group, Open: id, Incidents: []*klaxon.Incident{inc}}))
	require.ErrorIs(t, wait(ctx), klaxon.ErrUnavailable, "the map is on no replica: 503")

	// The master's host is lost; its replica, without the map, takes
	// over, and gets a replica of its own.
	masters[mi].Kill(t)
	replicas[mi].Resume(t)
	promoted := replicas[mi].Addr()
	require.Eventually(t, func() bool {
		_, err := redistest.Do(promoted, "CLUSTER", "FAILOVER", "TAKEOVER")
		return err == nil
	}, 20*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool {
		role, err := redistest.Do(promoted, "ROLE")
		return err == nil && len(role) >= 6 && role[:6] == "master"
	}, 20*time.Second, 100*time.Millisecond)
	for _, n := range masters {
		if n.Addr() == idAddr {
			continue
		}
		require.Eventually(t, func() bool {
			info, err := redistest.Do(n.Addr(), "CLUSTER", "NODES")
			return err == nil && strings.Contains(info, promoted+"@") && strings.Contains(info, "master") && clusterOK(promoted)
		}, 30*time.Second, 100*time.Millisecond, "the cluster takes the takeover")
	}
	pid, err := redistest.Do(promoted, "CLUSTER", "MYID")
	require.NoError(t, err)
	fresh := redistest.Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
	host, port, _ := net.SplitHostPort(promoted)
	_, err = redistest.Do(fresh.Addr(), "CLUSTER", "MEET", host, port)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := redistest.Do(fresh.Addr(), "CLUSTER", "REPLICATE", pid)
		return err == nil
	}, 20*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool {
		reply, err := redistest.Do(promoted, "WAIT", "1", "100")
		return err == nil && reply == "1"
	}, 30*time.Second, 100*time.Millisecond, "the promoted master has a replica")
	got, _ := redistest.Do(promoted, "GET", s.idKey(id))
	require.Empty(t, got, "the map was lost in the failover, as the test means")

	// The sender retries until answered 2xx; each retry finds the
	// incident open and commits nothing.
	var last error
	deadline := time.Now().Add(60 * time.Second)
	for {
		if last = s.Barrier(ctx, []string{group})(ctx); last == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the retry is answered 2xx once the promoted master has a replica: %v", last)
		time.Sleep(200 * time.Millisecond)
	}
	_, err = s.Incident(ctx, id)
	require.NoError(t, err, "the delivery that opened incident %s was answered 2xx, and the incident cannot be read by its number", id)
}

// clusterOK reports whether the node at addr says the cluster is up.
func clusterOK(addr string) bool {
	info, err := redistest.Do(addr, "CLUSTER", "INFO")
	return err == nil && strings.Contains(info, "cluster_state:ok")
}
