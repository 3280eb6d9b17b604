package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
)

// TestReplicas runs two store handles on one server, as two klaxon serve
// replicas would, 16 goroutines each, incrementing counters of four
// groups through klaxon.Update: every update lands exactly once.
func TestReplicas(t *testing.T) {
	const replicas, workers, rounds, groups = 2, 16, 10, 4
	addr := redistest.Start(t).Addr()
	ctx := t.Context()
	var eg errgroup.Group
	for r := range replicas {
		s := open(t, Options{Addrs: []string{addr}, Prefix: "replicas"})
		t.Cleanup(func() { _ = s.Close() })
		for w := range workers {
			eg.Go(func() error {
				for i := range rounds {
					group := fmt.Sprintf("g%d", (r+w+i)%groups)
					if err := update(ctx, s, group); err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
	require.NoError(t, eg.Wait())

	s := open(t, Options{Addrs: []string{addr}, Prefix: "replicas"})
	t.Cleanup(func() { _ = s.Close() })
	total := 0
	for i := range groups {
		g, err := s.Group(ctx, fmt.Sprintf("g%d", i), nil)
		require.NoError(t, err)
		require.Equal(t, uint64(g.Open.Seq), g.Version, "group %s: one increment per commit", g.Key)
		total += g.Open.Seq
	}
	require.Equal(t, replicas*workers*rounds, total, "no update lost")
}

// update increments group's counter through klaxon.Update, and calls it
// again when all its attempts lost a race, as a sender retries after a
// 503: an Update that gives up has committed nothing.
func update(ctx context.Context, s klaxon.Store, group string) error {
	for {
		err := klaxon.Update(ctx, s, group, nil, increment(group))
		if !errors.Is(err, klaxon.ErrConflict) {
			return err
		}
	}
}

// increment adds one to the Seq of the group's incident, which is "1" in
// group g1, and so on.
func increment(group string) func(klaxon.Group) (*klaxon.Commit, error) {
	return func(g klaxon.Group) (*klaxon.Commit, error) {
		var inc *klaxon.Incident
		if g.Open != nil {
			c := *g.Open // the store's copy is shared: change our own
			inc = &c
		} else {
			inc = &klaxon.Incident{ID: group[1:], Group: group, State: klaxon.StateTriggered, CreatedAt: t0}
		}
		inc.Seq++
		return &klaxon.Commit{Open: inc.ID, Incidents: []*klaxon.Incident{inc}}, nil
	}
}

// TestClaimOnce claims 200 due timers from two handles, four goroutines
// each, at the same now: each timer is returned once, so a step pages
// once.
func TestClaimOnce(t *testing.T) {
	const timers, replicas, workers = 200, 2, 4
	addr := redistest.Start(t).Addr()
	ctx := t.Context()
	s := open(t, Options{Addrs: []string{addr}, Prefix: "claims", Shards: 16})
	t.Cleanup(func() { _ = s.Close() })
	for i := range timers {
		group := fmt.Sprintf("g%d", i)
		tm := klaxon.Timer{Incident: strconv.Itoa(i), Group: group, Due: t0.Add(time.Duration(i) * time.Millisecond)}
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: group, Timers: []klaxon.Timer{tm}}))
	}
	now := t0.Add(time.Hour)

	var (
		mu   sync.Mutex
		seen = map[string]int{}
		eg   errgroup.Group
	)
	for range replicas {
		h := open(t, Options{Addrs: []string{addr}, Prefix: "claims", Shards: 16})
		t.Cleanup(func() { _ = h.Close() })
		for range workers {
			eg.Go(func() error {
				for {
					due, next, err := h.Claim(ctx, now, time.Minute, 7)
					if err != nil {
						return err
					}
					mu.Lock()
					for _, tm := range due {
						seen[tm.Incident]++
					}
					mu.Unlock()
					if len(due) == 0 && next.After(now) {
						return nil // all leased
					}
				}
			})
		}
	}
	require.NoError(t, eg.Wait())
	require.Len(t, seen, timers)
	for id, n := range seen {
		require.Equal(t, 1, n, "timer %s claimed %d times", id, n)
	}
}
