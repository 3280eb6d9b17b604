package redis

import (
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
	_, port, err := net.SplitHostPort(master.Addr())
	require.NoError(t, err)
	replica := redistest.Start(t, "--replicaof", "127.0.0.1", port)
	reply, err := redistest.Do(master.Addr(), "WAIT", "1", "15000") // the replica has synced
	require.NoError(t, err)
	require.Equal(t, "1", reply)

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
	}, waitTimeout/2, 10*time.Millisecond, "the barrier's WAIT is blocked on the master")
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
// barrier was out waits for the next round, and that round dials
// whatever master Sentinel names once the one out ends. The master's
// host is lost (SIGSTOP) with a delivery's commit on no replica;
// Sentinel promotes a replica without it, the other replica follows
// that one, and the delivery's barrier, written and acknowledged on the
// new master, must not vouch for a commit that master never took: were
// Replicated to return nil, the delivery would be answered 2xx with its
// alert gone.
func TestReplicatedAcrossFailover(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t, "--shutdown-timeout", "0") // its replicas never catch up: it stops without them
	// The replicas reach the master through proxies that can stop
	// passing on its stream: a commit then reaches no replica.
	var links []*freezer
	var replicas []*redistest.Server
	for range 2 {
		f := startFreezer(t, master.Addr())
		links = append(links, f)
		replicas = append(replicas, redistest.Start(t, "--replicaof", "127.0.0.1", f.port()))
	}
	reply, err := redistest.Do(master.Addr(), "WAIT", "2", "15000")
	require.NoError(t, err)
	require.Equal(t, "2", reply)
	sentinel := redistest.StartSentinel(t, master, "klaxon", 500)
	for _, r := range replicas {
		_, port, _ := net.SplitHostPort(r.Addr())
		require.Eventually(t, func() bool {
			out, err := redistest.Do(sentinel.Addr(), "SENTINEL", "REPLICAS", "klaxon")
			return err == nil && replicaReady(out, port)
		}, 30*time.Second, 100*time.Millisecond, "sentinel knows the replica")
	}

	s, err := Open(t.Context(), Options{Addrs: []string{sentinel.Addr()}, MasterName: "klaxon", Prefix: "fo",
		WaitReplicas: 1, WaitTimeout: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	commit := func(group string) {
		id, err := s.NextIncidentID(t.Context())
		require.NoError(t, err)
		inc := &klaxon.Incident{ID: id, Group: group, State: klaxon.StateTriggered, CreatedAt: time.Now().UTC().Truncate(time.Second)}
		require.NoError(t, s.Commit(t.Context(), klaxon.Commit{Group: group, Open: id, Incidents: []*klaxon.Incident{inc}}))
	}

	for _, f := range links {
		f.frozen.Store(true)
	}
	// Delivery a: committed, its barrier's WAIT out.
	waitA := s.Barrier(t.Context(), []string{"a"})
	commit("a")
	first := make(chan error, 1)
	go func() { first <- waitA(t.Context()) }()
	require.Eventually(t, func() bool {
		list, err := redistest.Do(master.Addr(), "CLIENT", "LIST")
		return err == nil && strings.Contains(list, "cmd=wait")
	}, time.Second, 10*time.Millisecond, "the barrier's WAIT is out")
	// Delivery b: committed meanwhile, a millisecond later; it waits
	// for the next round.
	waitB := s.Barrier(t.Context(), []string{"b"})
	commit("b")
	second := make(chan error, 1)
	bAt := time.Now()
	go func() { second <- waitB(t.Context()) }()
	master.Pause(t) // the master's host is lost, b's commit on no replica
	t.Cleanup(func() { master.Resume(t) })

	var errB error
	select {
	case errB = <-second:
		t.Logf("Replicated of b returned %v, %s after its commit", errB, time.Since(bAt).Round(time.Millisecond))
	case <-time.After(30 * time.Second):
		t.Fatal("Replicated of b has not returned")
	}
	require.Error(t, <-first, "a's barrier reached no replica")
	promoted := ""
	for _, r := range replicas {
		if role, err := redistest.Do(r.Addr(), "ROLE"); err == nil && strings.HasPrefix(role, "master") {
			promoted = r.Addr()
		}
	}
	held := ""
	if promoted != "" {
		held, _ = redistest.Do(promoted, "HGET", groupKey(s.tag("b"), "b"), "v")
	}
	if errB == nil {
		require.Equal(t, "1", held, "Replicated of b returned nil, so b's commit must be on the replicas; "+
			"the master promoted (%s) does not hold it", promoted)
	}
}
