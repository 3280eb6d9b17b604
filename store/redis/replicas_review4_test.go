package redis

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// frozenSentinel is a master with two replicas that reach it through
// freezers, watched by a Sentinel, and a store on it with WaitReplicas 1.
type frozenSentinel struct {
	master   *redistest.Server
	replicas []*redistest.Server
	links    []*freezer
	sentinel *redistest.Server
	s        *Store
}

func startFrozenSentinel(t *testing.T, prefix string) *frozenSentinel {
	t.Helper()
	fs := &frozenSentinel{master: redistest.Start(t, "--shutdown-timeout", "0")}
	for range 2 {
		f := startFreezer(t, fs.master.Addr())
		fs.links = append(fs.links, f)
		fs.replicas = append(fs.replicas, redistest.Start(t, "--replicaof", "127.0.0.1", f.port()))
	}
	reply, err := redistest.Do(fs.master.Addr(), "WAIT", "2", "15000")
	require.NoError(t, err)
	require.Equal(t, "2", reply)
	fs.sentinel = redistest.StartSentinel(t, fs.master, "klaxon", 500)
	for _, r := range fs.replicas {
		_, port, _ := net.SplitHostPort(r.Addr())
		require.Eventually(t, func() bool {
			out, err := redistest.Do(fs.sentinel.Addr(), "SENTINEL", "REPLICAS", "klaxon")
			return err == nil && replicaReady(out, port)
		}, 30*time.Second, 100*time.Millisecond, "sentinel knows the replica")
	}
	fs.s, err = Open(t.Context(), Options{Addrs: []string{fs.sentinel.Addr()}, MasterName: "klaxon", Prefix: prefix,
		Timeout: 250 * time.Millisecond, WaitReplicas: 1, WaitTimeout: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { fs.s.Close() })
	return fs
}

// loseMaster stops the replicas' streams, runs write (a commit that then
// reaches no replica), loses the master's host, and returns the address
// of the replica promoted once the other one follows it.
func (fs *frozenSentinel) loseMaster(t *testing.T, write func()) string {
	t.Helper()
	for _, f := range fs.links {
		f.frozen.Store(true)
	}
	write()
	fs.master.Pause(t)
	t.Cleanup(func() { fs.master.Resume(t) })
	promoted := ""
	require.Eventually(t, func() bool {
		for _, r := range fs.replicas {
			role, err := redistest.Do(r.Addr(), "ROLE")
			if err == nil && strings.HasPrefix(role, "master") {
				promoted = r.Addr()
				info, err := redistest.Do(r.Addr(), "INFO", "replication")
				return err == nil && strings.Contains(info, "connected_slaves:1")
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "sentinel promotes a replica, and the other follows it")
	return promoted
}

// TestReplicatedAfterAnotherRoundSawFailover: the run_id check fails
// only the first round after a failover on each shard; any round after
// it (a readiness probe's, which covers every shard, or another
// delivery's) notes the new master as the one holding the shard. A
// delivery whose commit landed on the lost master, and whose own wait
// comes after such a round (its other groups' commits were retried
// across the failover, or it was just slower), is answered 2xx with its
// alert on no replica and not on the master promoted.
func TestReplicatedAfterAnotherRoundSawFailover(t *testing.T) {
	t.Parallel()
	fs := startFrozenSentinel(t, "absorb")
	s := fs.s
	var waitB func(context.Context) error
	promoted := fs.loseMaster(t, func() {
		waitB = s.Barrier(t.Context(), []string{"b"}) // before b's commit
		id, err := s.NextIncidentID(t.Context())
		require.NoError(t, err)
		inc := &klaxon.Incident{ID: id, Group: "b", State: klaxon.StateTriggered, CreatedAt: time.Now().UTC().Truncate(time.Second)}
		require.NoError(t, s.Commit(t.Context(), klaxon.Commit{Group: "b", Open: id, Incidents: []*klaxon.Incident{inc}}))
	})

	// /readyz probes meanwhile: the first after the failover fails (the
	// master changed), the next passes.
	var probes []error
	require.Eventually(t, func() bool {
		err := s.Ping(t.Context())
		probes = append(probes, err)
		return err == nil
	}, 30*time.Second, 100*time.Millisecond, "readiness comes back on the promoted master")
	t.Logf("readiness probes: %v", probes)

	// Delivery b's wait, after its commit and after the failover.
	err := waitB(t.Context())
	held, _ := redistest.Do(promoted, "HGET", groupKey(s.tag("b"), "b"), "v")
	if err == nil {
		require.Equal(t, "1", held, "Replicated of b returned nil (b answered 2xx), but b's commit is not on the master promoted (%s): "+
			"a round of another caller noted the new master as the shard's, so b's round passed the run_id check", promoted)
	}
}

// TestChangesReplicatedAcrossFailover: learn notes at Open the master of
// the groups' shards only; an integration's change events have a hash
// tag of their own, which no one noted, so the first round that vouches
// for it never tells a failover. A change stored on the lost master is
// answered 202 with the change on no replica.
func TestChangesReplicatedAcrossFailover(t *testing.T) {
	t.Parallel()
	fs := startFrozenSentinel(t, "chfo")
	s := fs.s
	now := time.Now().UTC().Truncate(time.Millisecond)
	var wait func(context.Context) error
	promoted := fs.loseMaster(t, func() {
		wait = s.ChangesBarrier(t.Context(), "deploys") // before the change
		_, err := s.PutChange(t.Context(), klaxon.Change{Integration: "deploys", Summary: "v2 out", At: now}, now, klaxon.DefaultChangeBounds)
		require.NoError(t, err)
	})

	err := wait(t.Context())
	n, _ := redistest.Do(promoted, "ZCARD", s.changesKey("deploys"))
	if err == nil {
		require.Equal(t, "1", n, "ChangesReplicated returned nil (the change answered 202), but the master promoted (%s) does not hold it", promoted)
	}
}
