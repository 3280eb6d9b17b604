package redis

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// TestSentinel runs the store through Redis Sentinel (master_name) and
// across a failover: the master stops, Sentinel promotes its replica, and
// the same store handle carries on, with what it had committed.
func TestSentinel(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t)
	_, port, err := net.SplitHostPort(master.Addr())
	require.NoError(t, err)
	replica := redistest.Start(t, "--replicaof", "127.0.0.1", port)
	sentinel := redistest.StartSentinel(t, master, "klaxon", 500)

	s, err := Open(t.Context(), Options{Addrs: []string{sentinel.Addr()}, MasterName: "klaxon", Prefix: "sen"})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })

	id, err := s.NextIncidentID(t.Context())
	require.NoError(t, err)
	inc := &klaxon.Incident{ID: id, Group: "g", State: klaxon.StateTriggered, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	require.NoError(t, s.Commit(t.Context(), klaxon.Commit{Group: "g", Open: id, Incidents: []*klaxon.Incident{inc}}))
	// The replica has it before the master goes. On a busy machine the
	// replica may still be loading the master's first snapshot.
	reply, err := redistest.Do(master.Addr(), "WAIT", "1", "15000")
	require.NoError(t, err)
	require.Equal(t, "1", reply)

	// Sentinel can promote only a replica it knows, with its link to the
	// master up as last seen: it learns of replicas from the master's INFO,
	// every ten seconds, which on a busy machine may come after the stop.
	_, replicaPort, err := net.SplitHostPort(replica.Addr())
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		out, err := redistest.Do(sentinel.Addr(), "SENTINEL", "REPLICAS", "klaxon")
		return err == nil && replicaReady(out, replicaPort)
	}, 30*time.Second, 100*time.Millisecond, "sentinel knows the replica")

	master.Stop(t)
	require.Eventually(t, func() bool {
		g, err := s.Group(t.Context(), "g", nil)
		if err != nil {
			require.True(t, errors.Is(err, klaxon.ErrUnavailable), "during the failover: %v", err)
			return false
		}
		return g.Version == 1 && g.Open != nil && g.Open.ID == id
	}, 30*time.Second, 100*time.Millisecond, "the promoted replica serves the group")

	// And takes writes: the replica is the master now.
	require.NoError(t, s.Commit(t.Context(), klaxon.Commit{Group: "g", Version: 1, Open: id, Incidents: []*klaxon.Incident{inc}}))
	role, err := redistest.Do(replica.Addr(), "ROLE")
	require.NoError(t, err)
	require.Contains(t, role, "master")
}

// replicaReady reports whether SENTINEL REPLICAS, its fields one a line,
// lists the replica on port as a replica whose link to the master is up.
func replicaReady(out, port string) bool {
	f := strings.Split(out, "\n")
	var replicas []map[string]string
	for i := 0; i+1 < len(f); i += 2 {
		if f[i] == "name" {
			replicas = append(replicas, map[string]string{})
		}
		if len(replicas) > 0 {
			replicas[len(replicas)-1][f[i]] = f[i+1]
		}
	}
	for _, r := range replicas {
		if r["port"] == port && r["flags"] == "slave" && r["master-link-status"] == "ok" {
			return true
		}
	}
	return false
}
