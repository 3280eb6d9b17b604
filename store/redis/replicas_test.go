package redis

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// TestReplicated: with WaitReplicas, Replicated returns once a replica
// holds what was committed before it; while the replica does not
// acknowledge (stopped), it fails as Redis unavailable, and so does the
// readiness ping, and once the replica is back, the same call (a
// sender's retry that finds its alert committed, and writes nothing)
// returns with the commit on the replica.
func TestReplicated(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t)
	_, port, err := net.SplitHostPort(master.Addr())
	require.NoError(t, err)
	replica := redistest.Start(t, "--replicaof", "127.0.0.1", port)
	reply, err := redistest.Do(master.Addr(), "WAIT", "1", "15000") // the replica has synced
	require.NoError(t, err)
	require.Equal(t, "1", reply)

	s, err := Open(t.Context(), Options{Addrs: []string{master.Addr()}, Prefix: "wait", WaitReplicas: 1, WaitTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	onReplica := func(group string) string {
		v, err := redistest.Do(replica.Addr(), "HGET", groupKey(s.tag(group), group), "v")
		require.NoError(t, err)
		return v
	}
	commit := func(group string) {
		id, err := s.NextIncidentID(t.Context())
		require.NoError(t, err)
		inc := &klaxon.Incident{ID: id, Group: group, State: klaxon.StateTriggered, CreatedAt: time.Now().UTC().Truncate(time.Second)}
		require.NoError(t, s.Commit(t.Context(), klaxon.Commit{Group: group, Open: id, Incidents: []*klaxon.Incident{inc}}))
	}

	commit("a")
	require.NoError(t, s.Replicated(t.Context(), []string{"a"}))
	require.Equal(t, "1", onReplica("a"), "the replica holds it once Replicated returns")

	replica.Pause(t)
	commit("b")
	err = s.Replicated(t.Context(), []string{"b"})
	require.ErrorIs(t, err, klaxon.ErrUnavailable)
	require.Contains(t, err.Error(), "0 of the 1 replicas asked for acknowledged the write within 200ms")
	require.ErrorIs(t, s.Ping(t.Context()), klaxon.ErrUnavailable, "not ready while replicas do not acknowledge")

	replica.Resume(t)
	require.NoError(t, s.Replicated(t.Context(), []string{"b"}), "the retry, which commits nothing")
	require.Equal(t, "1", onReplica("b"))
	require.NoError(t, s.Ping(t.Context()))

	// Without WaitReplicas nothing waits: answered while the replica
	// is stopped.
	plain, err := Open(t.Context(), Options{Addrs: []string{master.Addr()}, Prefix: "wait"})
	require.NoError(t, err)
	t.Cleanup(func() { plain.Close() })
	replica.Pause(t)
	defer replica.Resume(t)
	require.NoError(t, plain.Replicated(t.Context(), []string{"b"}))
}

// TestReplicatedShares: callers that come while a master's barrier is
// out share the next one, sent after all of them came, whatever shard of
// that master each waits for; a failed round fails its callers only;
// another master's barrier goes beside.
func TestReplicatedShares(t *testing.T) {
	out := make(chan *round) // a round sent
	release := map[string]chan error{"{p:s0}": make(chan error), "{p:s9}": make(chan error)}
	r := &replication{replicas: 1, barriers: map[string]*masterBarrier{}}
	r.send = func(rd *round) error {
		out <- rd
		return <-release[rd.tags[0]]
	}
	first := r.join("m1", "{p:s0}")
	require.Same(t, first, <-out)
	// While the first round is out, three callers come, of two shards of
	// m1: they wait for the second, sent once the first is answered.
	second := []*round{r.join("m1", "{p:s0}"), r.join("m1", "{p:s1}"), r.join("m1", "{p:s0}")}
	require.Same(t, second[0], second[1])
	require.Same(t, second[0], second[2])
	require.NotSame(t, first, second[0])
	require.Equal(t, []string{"{p:s0}", "{p:s1}"}, second[0].tags, "one barrier vouches for both shards")
	other := r.join("m2", "{p:s9}")
	require.Same(t, other, <-out, "another master's round goes beside them")

	down := errors.New("redis down")
	release["{p:s0}"] <- down
	<-first.done
	require.ErrorIs(t, first.err, down)
	require.Same(t, second[0], <-out, "the second round, after the first was answered")
	release["{p:s0}"] <- nil
	release["{p:s9}"] <- nil
	<-second[0].done
	<-other.done
	require.NoError(t, second[0].err)
	require.NoError(t, other.err)
	r.close()
	select {
	case rd := <-out:
		t.Fatalf("a round more of %v, with nobody waiting", rd.tags)
	default:
	}
}

// TestReplicatedFailover: a round on a master other than the one last
// seen holding a shard fails, though its replicas acknowledged: the
// writes waited for went to the one before, and may be lost.
func TestReplicatedFailover(t *testing.T) {
	r := &replication{runs: map[string]string{"{p:s0}": "aaa", "{p:s1}": "aaa"}}
	require.NoError(t, r.seen([]string{"{p:s0}"}, "aaa"))
	err := r.seen([]string{"{p:s0}", "{p:s1}"}, "bbb")
	require.ErrorIs(t, err, klaxon.ErrUnavailable)
	require.Contains(t, err.Error(), "the master changed (a failover)")
	require.NoError(t, r.seen([]string{"{p:s1}"}, "bbb"), "from then on, the new master's")
}
