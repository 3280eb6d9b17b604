package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
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
	replica := redistest.StartReplica(t, master)

	s, err := Open(t.Context(), Options{Addrs: []string{master.Addr()}, Prefix: "wait", WaitReplicas: 1, WaitTimeout: 2 * time.Second})
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

	wait := s.Barrier(t.Context(), []string{"a"})
	commit("a")
	require.NoError(t, wait(t.Context()))
	require.Equal(t, "1", onReplica("a"), "the replica holds it once Replicated returns")

	replica.Pause(t)
	wait = s.Barrier(t.Context(), []string{"b"})
	commit("b")
	err = wait(t.Context())
	require.ErrorIs(t, err, klaxon.ErrUnavailable)
	require.Contains(t, err.Error(), "0 of the 1 replicas asked for acknowledged the write within 2s")
	require.ErrorIs(t, s.Ping(t.Context()), klaxon.ErrUnavailable, "not ready while replicas do not acknowledge")

	replica.Resume(t)
	require.NoError(t, s.Barrier(t.Context(), []string{"b"})(t.Context()), "the retry, which commits nothing")
	require.Equal(t, "1", onReplica("b"))
	require.NoError(t, s.Ping(t.Context()))

	// Without WaitReplicas nothing waits: answered while the replica
	// is stopped.
	plain, err := Open(t.Context(), Options{Addrs: []string{master.Addr()}, Prefix: "wait"})
	require.NoError(t, err)
	t.Cleanup(func() { plain.Close() })
	replica.Pause(t)
	defer replica.Resume(t)
	require.NoError(t, plain.Barrier(t.Context(), []string{"b"})(t.Context()))
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

// TestReplicatedFailover: a wait fails when the master that holds a
// shard is found to be another server than the one marked before the
// writes, whoever's round found it; writes marked after that are
// vouched for on the new one.
func TestReplicatedFailover(t *testing.T) {
	node := goredis.NewClient(&goredis.Options{Addr: "m1"}) // never dialled
	t.Cleanup(func() { node.Close() })
	server := "aaa" // the run_id a round finds at m1
	r := &replication{replicas: 1, barriers: map[string]*masterBarrier{}, runs: map[string]string{}, gens: map[string]uint64{},
		key:    func(tag string) string { return tag + ":wait" },
		client: func(context.Context, string) (*goredis.Client, error) { return node, nil }}
	r.send = func(*round) error { r.seen("m1", server); return nil }
	r.seen("m1", "aaa") // learnt at Open

	before := r.barrier(t.Context(), []string{"{p:s0}"}) // a delivery's mark, then its commit
	server = "bbb"                                       // the master's host is lost: a replica is promoted
	require.ErrorIs(t, r.barrier(t.Context(), []string{"{p:s1}"})(t.Context()), klaxon.ErrUnavailable, "the round that finds it, a readiness probe's")
	err := before(t.Context())
	require.ErrorIs(t, err, klaxon.ErrUnavailable, "another round found the new master first")
	require.Contains(t, err.Error(), "the master changed (a failover)")
	require.NoError(t, r.barrier(t.Context(), []string{"{p:s0}"})(t.Context()), "marked after: the new master's")
	r.close()
}
