package redis

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

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
	masters, replicas := redistest.StartClusterWithReplicas(t)
	s, idAddr, group := idMapRig(t, masters, "idw")
	ctx := t.Context()
	pauseReplicaOf(t, masters, replicas, idAddr) // no replica acknowledges the ID's map

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

// TestReplicatedRoundSlotMovedBeside: a round vouches for every shard
// that joined it. On a Cluster, the barriers' slot map may still name
// a master for a shard whose slot moved (resharding) while the store's
// writes follow the MOVED reply to the new one. Here two shards share
// master x in that map, the second's slot has moved to y, whose replica
// is stopped, and the delivery's write lands there: the round, written
// and acknowledged on x for the first shard, must not vouch for it.
func TestReplicatedRoundSlotMovedBeside(t *testing.T) {
	t.Parallel()
	masters, replicas := redistest.StartClusterWithReplicas(t)
	addrs := make([]string, len(masters))
	for i, m := range masters {
		addrs[i] = m.Addr()
	}
	ctx := t.Context()
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = cc.Close() })
	masterOf := func(key string) *goredis.Client {
		c, err := cc.MasterForKey(ctx, key)
		require.NoError(t, err)
		return c
	}
	x := masterOf("{mv:s0}")
	var moving string
	for i := 1; moving == ""; i++ {
		if tag := fmt.Sprintf("{mv:s%d}", i); masterOf(tag).Options().Addr == x.Options().Addr {
			moving = tag
		}
	}
	yi := 0
	for masters[yi].Addr() == x.Options().Addr {
		yi++
	}
	y := masters[yi]

	// The barriers' map, read before the slot moved: both shards on x.
	r := &replication{replicas: 1, timeout: time.Second,
		key:      func(tag string) string { return tag + ":wait" },
		client:   func(context.Context, string) (*goredis.Client, error) { return x, nil },
		barriers: map[string]*masterBarrier{}, runs: map[string]string{}, gens: map[string]uint64{}}
	r.send = r.sendRound
	t.Cleanup(r.close)
	require.NoError(t, r.learn(ctx, []string{"{mv:s0}"}))

	// The second shard's slot moves to y.
	slot, err := redistest.Do(x.Options().Addr, "CLUSTER", "KEYSLOT", moving)
	require.NoError(t, err)
	xID, err := redistest.Do(x.Options().Addr, "CLUSTER", "MYID")
	require.NoError(t, err)
	yID, err := redistest.Do(y.Addr(), "CLUSTER", "MYID")
	require.NoError(t, err)
	_, err = redistest.Do(y.Addr(), "CLUSTER", "SETSLOT", slot, "IMPORTING", xID)
	require.NoError(t, err)
	_, err = redistest.Do(x.Options().Addr, "CLUSTER", "SETSLOT", slot, "MIGRATING", yID)
	require.NoError(t, err)
	for _, m := range masters {
		_, err = redistest.Do(m.Addr(), "CLUSTER", "SETSLOT", slot, "NODE", yID)
		require.NoError(t, err)
	}
	replicas[yi].Pause(t) // y's writes reach no replica
	t.Cleanup(func() { replicas[yi].Resume(t) })

	wait := r.barrier(ctx, []string{"{mv:s0}", moving})
	require.NoError(t, cc.HSet(ctx, moving+":g:a", "v", "1").Err(), "the delivery's commit, which follows MOVED to y")
	held, err := redistest.Do(y.Addr(), "HGET", moving+":g:a", "v")
	require.NoError(t, err)
	require.Equal(t, "1", held)
	err = wait(ctx)
	require.ErrorIs(t, err, klaxon.ErrUnavailable,
		"the wait passed on a round acknowledged on %s, while the write of shard %s is on %s, whose replica is stopped", x.Options().Addr, moving, y.Addr())
}

// idMapRig opens a store waiting for 1 replica on the cluster of
// masters, and returns it, the address of the master that holds the
// first incident's ID map (P:id:1), and a group whose shard is on
// another master, as is the incident counter.
func idMapRig(t *testing.T, masters []*redistest.Server, prefix string) (s *Store, idAddr, group string) {
	t.Helper()
	addrs := make([]string, len(masters))
	for i, m := range masters {
		addrs[i] = m.Addr()
	}
	s = open(t, Options{Addrs: addrs, Prefix: prefix, WaitReplicas: 1, WaitTimeout: time.Second})
	t.Cleanup(func() { _ = s.Close() })
	cc := s.rdb.(*goredis.ClusterClient)
	masterOfKey := func(key string) string {
		c, err := cc.MasterForKey(t.Context(), key)
		require.NoError(t, err)
		return c.Options().Addr
	}
	idAddr = masterOfKey(s.idKey("1"))
	if masterOfKey(s.seqKey()) == idAddr {
		t.Fatalf("prefix %q puts the incident counter on the master of the ID map: pick another", prefix)
	}
	for i := 0; group == ""; i++ {
		if g := fmt.Sprintf("alertname=Disk%d", i); masterOfKey(s.tag(g)) != idAddr {
			group = g
		}
	}
	return s, idAddr, group
}

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

// TestReplicatedHungIDMapMasterBounded: the wait for an open incident's
// ID map is bounded as a barrier's is (TestReplicatedHungMasterBounded),
// WaitTimeout + barrierSlack, also when the map's master hangs (its host
// lost, SIGSTOP here) before the wait writes the map again: the
// delivery is answered 503 within the bound, and the write holds none
// of ingest's connections, which do not honour the wait's deadline
// (go-redis reads for its read timeout, 3 s by default, and tries again
// three times more).
func TestReplicatedHungIDMapMasterBounded(t *testing.T) {
	t.Parallel()
	masters, _ := redistest.StartClusterWithReplicas(t)
	s, idAddr, group := idMapRig(t, masters, "idh")
	const waitTimeout = time.Second // idMapRig's
	ctx := t.Context()

	// A delivery opens incident 1; its wait is not yet called (or it
	// failed): no round confirmed the map.
	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	require.Equal(t, "1", id)
	inc := &klaxon.Incident{ID: id, Group: group, State: klaxon.StateTriggered, CreatedAt: t0}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: group, Open: id, Incidents: []*klaxon.Incident{inc}}))

	for _, m := range masters {
		if m.Addr() == idAddr {
			m.Pause(t) // the map's master's host is lost
			t.Cleanup(func() { m.Resume(t) })
		}
	}
	start := time.Now()
	done := make(chan error, 1)
	wait := s.Barrier(ctx, []string{group})
	go func() { done <- wait(ctx) }()
	// The round's bound, with room for a busy machine, as in
	// TestReplicatedHungMasterBounded.
	bound := waitTimeout + barrierSlack + 2*time.Second
	select {
	case err := <-done:
		require.ErrorIs(t, err, klaxon.ErrUnavailable)
	case <-time.After(bound):
		t.Fatalf("the wait has not returned %s after it was called, past WaitTimeout + barrierSlack", time.Since(start).Round(time.Millisecond))
	}
}

// TestReplicatedIDMapMigratingFailsOnlyItsCaller: a round vouches for
// every caller that joined it, to any shard of its master. One of them
// brings the ID map of its group's open incident, whose slot is being
// migrated off that master (a resharding under way, or one left
// half-done): the map's key is on the importing master already, so the
// round's writes in that slot (the map written again, and its barrier)
// are refused with ASK. The other caller, a delivery to a group of that
// master whose writes the round's barrier and WAIT did vouch for, must
// be answered: failed with the map's ASK, every delivery to any group of
// that master is answered 503 for as long as the migration lasts and
// the incident stays open, since its sender's retries keep joining.
func TestReplicatedIDMapMigratingFailsOnlyItsCaller(t *testing.T) {
	t.Parallel()
	masters, _ := redistest.StartClusterWithReplicas(t)
	s, idAddr, group := idMapRig(t, masters, "idq")
	ctx := t.Context()

	// A group on the map's master, whose deliveries join its rounds.
	var other string
	for i := 0; other == ""; i++ {
		g := fmt.Sprintf("alertname=Cpu%d", i)
		c, err := s.waits.client(ctx, s.waits.key(s.tag(g)))
		require.NoError(t, err)
		if c.Options().Addr == idAddr {
			other = g
		}
	}
	var importing string
	for _, m := range masters {
		if m.Addr() != idAddr {
			importing = m.Addr()
			break
		}
	}

	// Incident 1 opens in group; no wait has confirmed its map.
	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	inc := &klaxon.Incident{ID: id, Group: group, State: klaxon.StateTriggered, CreatedAt: t0}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: group, Open: id, Incidents: []*klaxon.Incident{inc}}))

	// The map's slot is being migrated to another master, and the map
	// moved there already (CLUSTER SETSLOT … MIGRATING, then MIGRATE).
	do := func(addr string, args ...string) string {
		t.Helper()
		out, err := redistest.Do(addr, args...)
		require.NoError(t, err, "%s: %v", addr, args)
		return out
	}
	slot := strings.TrimSpace(do(idAddr, "CLUSTER", "KEYSLOT", s.idKey(id)))
	do(importing, "CLUSTER", "SETSLOT", slot, "IMPORTING", strings.TrimSpace(do(idAddr, "CLUSTER", "MYID")))
	do(idAddr, "CLUSTER", "SETSLOT", slot, "MIGRATING", strings.TrimSpace(do(importing, "CLUSTER", "MYID")))
	host, port, err := net.SplitHostPort(importing)
	require.NoError(t, err)
	do(idAddr, "MIGRATE", host, port, "", "0", "5000", "KEYS", s.idKey(id))

	// A round is out on the map's master; both deliveries join the next.
	gate, out := make(chan struct{}), make(chan struct{})
	var once sync.Once
	send := s.waits.send
	s.waits.send = func(rd *round) error {
		held := false
		once.Do(func() { held = true })
		if held {
			close(out)
			<-gate
		}
		return send(rd)
	}
	first := s.Barrier(ctx, []string{other})
	go func() { _ = first(ctx) }()
	<-out
	waitOther, waitGroup := s.Barrier(ctx, []string{other}), s.Barrier(ctx, []string{group})
	errs := make(chan error, 2)
	go func() { errs <- waitOther(ctx) }()
	joined := func() bool {
		s.waits.mu.Lock()
		defer s.waits.mu.Unlock()
		b := s.waits.barriers[idAddr]
		return b != nil && b.next != nil && len(b.next.tags) >= 1
	}
	require.Eventually(t, joined, 10*time.Second, time.Millisecond, "the delivery to %s joins the next round", other)
	groupErr := make(chan error, 1)
	go func() { groupErr <- waitGroup(ctx) }()
	mapJoined := func() bool {
		s.waits.mu.Lock()
		defer s.waits.mu.Unlock()
		return len(s.waits.barriers[idAddr].next.maps) == 1
	}
	require.Eventually(t, mapJoined, 10*time.Second, time.Millisecond, "the delivery to %s joins the next round with its map", group)
	close(gate)

	require.NoError(t, <-errs, "a delivery to %s, on %s, is failed by the map of another group's incident, migrating", other, idAddr)
	require.ErrorIs(t, <-groupErr, klaxon.ErrUnavailable, "the map's own delivery: it is not vouched for")
}

// TestReplicatedResolvedIncidentIDMapWaited: a delivery opens incident
// 1, and before its wait is called another delivery of this process
// resolves it (the alert's resolve, a moment later). The ID map of the
// incident the first delivery opened is on a master whose replica
// acknowledges nothing: lost in a failover of that master, incident 1
// can no longer be read by its number (its ack and resolve links, the
// API), and its ID may be handed out again. The first delivery must
// not be answered 2xx; the wait looks only at the group's open
// incident when it is called, which is none by then.
func TestReplicatedResolvedIncidentIDMapWaited(t *testing.T) {
	t.Parallel()
	masters, replicas := redistest.StartClusterWithReplicas(t)
	s, idAddr, group := idMapRig(t, masters, "idq")
	ctx := t.Context()
	pauseReplicaOf(t, masters, replicas, idAddr) // no replica acknowledges the ID's map

	wait, id := openThenResolve(t, s, group)

	require.ErrorIs(t, wait(ctx), klaxon.ErrUnavailable,
		"the delivery that opened incident %s is answered while its ID's map (on %s) is on no replica", id, idAddr)
}

// pauseReplicaOf stops the replica of the master at addr (SIGSTOP), and
// resumes it at the test's end.
func pauseReplicaOf(t *testing.T, masters, replicas []*redistest.Server, addr string) {
	t.Helper()
	for i, m := range masters {
		if m.Addr() == addr {
			replicas[i].Pause(t)
			t.Cleanup(func() { replicas[i].Resume(t) })
		}
	}
}

// TestReplicatedRefusedCommitIDMapNotWaited: a commit that opens
// incident 1 is refused (its group moved on: a conflict, the sender's
// retry then opens it with a commit that lands, or none). The incident
// never was: nothing of it is for a wait to vouch for. The ID's map is
// on a master whose replica acknowledges nothing; the group's shard is
// on another, whose replica does. A delivery to the group that wrote
// nothing on the map's master must be answered: the refused commit
// must not tie every later wait of the group to that master, for as
// long as it cannot be vouched for (for ever, when its slot is not
// served or is left half-migrated).
func TestReplicatedRefusedCommitIDMapNotWaited(t *testing.T) {
	t.Parallel()
	masters, replicas := redistest.StartClusterWithReplicas(t)
	s, idAddr, group := idMapRig(t, masters, "idq")
	ctx := t.Context()

	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	inc := &klaxon.Incident{ID: id, Group: group, State: klaxon.StateTriggered, CreatedAt: t0}
	err = s.Commit(ctx, klaxon.Commit{Group: group, Version: 7, Open: id, Incidents: []*klaxon.Incident{inc}})
	require.ErrorIs(t, err, klaxon.ErrConflict)

	pauseReplicaOf(t, masters, replicas, idAddr) // no replica acknowledges on the map's master
	// A delivery to the group: its retry found its writes made.
	require.NoError(t, s.Barrier(ctx, []string{group})(ctx),
		"a delivery to %s waits for the map of incident %s, which was never committed, on %s", group, id, idAddr)
}

// TestReplicatedResolvedIncidentIDMapWaitedUnderEngine is
// TestReplicatedResolvedIncidentIDMapWaited while the escalation
// engine records pages on closed incidents of many other groups (their
// resolve notifications): commits that never wait, each of which writes
// its incident's ID map again. They must not make the store forget the
// map the delivery's own commit wrote before its wait.
func TestReplicatedResolvedIncidentIDMapWaitedUnderEngine(t *testing.T) {
	t.Parallel()
	masters, replicas := redistest.StartClusterWithReplicas(t)
	s, idAddr, group := idMapRig(t, masters, "idu")
	ctx := t.Context()
	pauseReplicaOf(t, masters, replicas, idAddr) // no replica acknowledges the ID's map

	wait, id := openThenResolve(t, s, group)

	// The engine's commits on closed incidents of other groups, as
	// another replica's deliveries opened them: urgent, never waited.
	engine := s.Urgent()
	const groups = confirmedIDs
	var wg sync.WaitGroup
	errs := make(chan error, groups)
	for w := range 32 {
		wg.Go(func() {
			for i := w; i < groups; i += 32 {
				g := fmt.Sprintf("alertname=Eng%d", i)
				closed := &klaxon.Incident{ID: fmt.Sprintf("e%d", i), Group: g, State: klaxon.StateResolved, CreatedAt: t0}
				if err := engine.Commit(ctx, klaxon.Commit{Group: g, Urgent: true, Incidents: []*klaxon.Incident{closed}}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(t, <-errs)

	require.ErrorIs(t, wait(ctx), klaxon.ErrUnavailable,
		"the delivery that opened incident %s is answered while its ID's map (on %s) is on no replica", id, idAddr)
}

// openThenResolve is a delivery that opens an incident in group, its
// barrier taken before its commit, and another delivery's commit that
// resolves the incident before the first one's wait: it returns that
// wait and the incident's ID.
func openThenResolve(t *testing.T, s *Store, group string) (func(context.Context) error, string) {
	t.Helper()
	ctx := t.Context()
	wait := s.Barrier(ctx, []string{group})
	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	inc := &klaxon.Incident{ID: id, Group: group, State: klaxon.StateTriggered, CreatedAt: t0}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: group, Open: id, Incidents: []*klaxon.Incident{inc}}))
	resolved := *inc
	resolved.State = klaxon.StateResolved
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: group, Version: 1, Incidents: []*klaxon.Incident{&resolved}}))
	return wait, id
}
