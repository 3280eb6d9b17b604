package redis

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// TestReplicatedHungMasterBounded: a barrier's time is bounded by its
// context: WaitTimeout + barrierSlack. When the master hangs (its host
// lost, SIGSTOP here) while the barrier's WAIT is out, the round fails
// within that bound, so that a webhook is answered 503 and the
// deliveries queued for the next round are not held. A client that
// ignores the context's deadline on the socket reads WAIT's reply for
// its timeout + 10s instead.
func TestReplicatedHungMasterBounded(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t)
	replica := redistest.StartReplica(t, master)

	const waitTimeout = 2 * time.Second
	s, err := Open(t.Context(), Options{Addrs: []string{master.Addr()}, Prefix: "hung", Timeout: 250 * time.Millisecond,
		WaitReplicas: 1, WaitTimeout: waitTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })

	replica.Pause(t) // the WAIT blocks
	start := time.Now()
	done := make(chan error, 1)
	wait := s.Barrier(t.Context(), []string{"a"})
	go func() { done <- wait(t.Context()) }()
	require.Eventually(t, func() bool {
		list, err := redistest.Do(master.Addr(), "CLIENT", "LIST")
		return err == nil && strings.Contains(list, "cmd=wait")
	}, waitTimeout, 10*time.Millisecond, "the barrier's WAIT is blocked on the master") // out no longer than that
	master.Pause(t) // the master's host is lost
	t.Cleanup(func() { master.Resume(t) })

	// The round's bound, with room for a busy machine: go-redis's own
	// read timeout of WAIT is 10 s past it.
	bound := waitTimeout + barrierSlack + 2*time.Second
	select {
	case err := <-done:
		require.ErrorIs(t, err, klaxon.ErrUnavailable)
	case <-time.After(bound - time.Since(start)):
		t.Fatalf("Replicated has not returned %s after it was called, past WaitTimeout + barrierSlack", time.Since(start).Round(time.Millisecond))
	}
}

// freezer is a TCP proxy to addr whose replies it can stop passing on
// (and drop), as a link whose far end is lost.
type freezer struct {
	ln     net.Listener
	frozen atomic.Bool
}

func startFreezer(t *testing.T, addr string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &freezer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				up, err := net.Dial("tcp", addr)
				if err != nil {
					c.Close()
					return
				}
				go func() { _, _ = io.Copy(up, c) }()
				buf := make([]byte, 32<<10)
				for {
					n, err := up.Read(buf)
					if n > 0 && !f.frozen.Load() {
						if _, err := c.Write(buf[:n]); err != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				c.Close()
				up.Close()
			}()
		}
	}()
	return f
}

func (f *freezer) port() string {
	_, p, _ := net.SplitHostPort(f.ln.Addr().String())
	return p
}

// TestReplicatedAcrossFailover: a delivery whose commit landed while a
// barrier was out waits for the next round, which dials whatever master
// Sentinel names once the one out ends. The master's host is lost
// (SIGSTOP) with the commit on no replica, and a replica without it is
// promoted: the delivery's wait fails (503) rather than vouch, on the
// new master, for a commit that master never took.
func TestReplicatedAcrossFailover(t *testing.T) {
	t.Parallel()
	fs := startFrozenSentinel(t, "fo")
	s := fs.s
	for _, f := range fs.links {
		f.frozen.Store(true)
	}
	// Delivery a: committed, its barrier's WAIT out.
	waitA := s.Barrier(t.Context(), []string{"a"})
	fs.commit(t, "a")
	first := make(chan error, 1)
	go func() { first <- waitA(t.Context()) }()
	require.Eventually(t, func() bool {
		list, err := redistest.Do(fs.master.Addr(), "CLIENT", "LIST")
		return err == nil && strings.Contains(list, "cmd=wait")
	}, frozenWaitTimeout, 10*time.Millisecond, "the barrier's WAIT is out") // out no longer than that
	// Delivery b: committed meanwhile, a millisecond later; it waits
	// for the next round.
	waitB := s.Barrier(t.Context(), []string{"b"})
	fs.commit(t, "b")
	second := make(chan error, 1)
	go func() { second <- waitB(t.Context()) }()
	fs.master.Pause(t) // the master's host is lost, b's commit on no replica
	t.Cleanup(func() { fs.master.Resume(t) })

	var errB error
	select {
	case errB = <-second:
	case <-time.After(30 * time.Second):
		t.Fatal("the wait of b has not returned")
	}
	require.Error(t, <-first, "a's barrier reached no replica")
	promoted := ""
	for _, r := range fs.replicas {
		if role, err := redistest.Do(r.Addr(), "ROLE"); err == nil && strings.HasPrefix(role, "master") {
			promoted = r.Addr()
		}
	}
	held := ""
	if promoted != "" {
		held, _ = redistest.Do(promoted, "HGET", groupKey(s.tag("b"), "b"), "v")
	}
	if errB == nil {
		require.Equal(t, "1", held, "the wait of b returned nil, so b's commit must be on the replicas; "+
			"the master promoted (%s) does not hold it", promoted)
	}
}

// frozenSentinel is a master with two replicas that reach it through
// freezers, watched by a Sentinel, and a store on it with WaitReplicas 1.
type frozenSentinel struct {
	master   *redistest.Server
	replicas []*redistest.Server
	links    []*freezer
	sentinel *redistest.Server
	s        *Store
}

// frozenWaitTimeout is the WaitTimeout of a frozenSentinel's store.
const frozenWaitTimeout = 2 * time.Second

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
	// A Sentinel slow to answer on a busy machine (past the short
	// Timeout) fails Open as unavailable: serve waits for it, and so
	// does the rig.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		fs.s, err = Open(t.Context(), Options{Addrs: []string{fs.sentinel.Addr()}, MasterName: "klaxon", Prefix: prefix,
			Timeout: 250 * time.Millisecond, WaitReplicas: 1, WaitTimeout: frozenWaitTimeout})
		if err == nil || !errors.Is(err, klaxon.ErrUnavailable) || time.Now().After(deadline) {
			break
		}
	}
	require.NoError(t, err, "the store opens on the Sentinel's master")
	t.Cleanup(func() { fs.s.Close() })
	return fs
}

// commit opens an incident in group, as a delivery's commit does.
func (fs *frozenSentinel) commit(t *testing.T, group string) {
	t.Helper()
	id, err := fs.s.NextIncidentID(t.Context())
	require.NoError(t, err)
	inc := &klaxon.Incident{ID: id, Group: group, State: klaxon.StateTriggered, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	require.NoError(t, fs.s.Commit(t.Context(), klaxon.Commit{Group: group, Open: id, Incidents: []*klaxon.Incident{inc}}))
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
	return fs.promoted(t)
}

// promoted returns the address of the replica Sentinel promoted, once
// the other replica follows it.
func (fs *frozenSentinel) promoted(t *testing.T) string {
	t.Helper()
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

// TestReplicatedAfterAnotherRoundSawFailover: a delivery whose commit
// landed on the lost master waits after another round (a readiness
// probe's) has seen the new master: its wait still fails, as its mark
// names the master before the failover.
func TestReplicatedAfterAnotherRoundSawFailover(t *testing.T) {
	t.Parallel()
	fs := startFrozenSentinel(t, "absorb")
	s := fs.s
	var waitB func(context.Context) error
	promoted := fs.loseMaster(t, func() {
		waitB = s.Barrier(t.Context(), []string{"b"}) // before b's commit
		fs.commit(t, "b")
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

// TestChangesReplicatedAcrossFailover: a change stored on a master lost
// before any replica had it: its wait fails (the change's shard's master
// is known from Open, by address), not 202 with the change on no replica.
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
