package redis

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// groupReads counts the runs of group.lua through a client (an EVALSHA
// that finds the script not loaded yet is followed by its EVAL).
type groupReads struct{ n atomic.Int64 }

func (h *groupReads) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *groupReads) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if a := cmd.Args(); len(a) > 1 && (a[1] == groupScript.Hash() || a[1] == bulkLua+groupLua) && !redis.HasErrorPrefix(err, "NOSCRIPT") {
			h.n.Add(1)
		}
		return err
	}
}

func (h *groupReads) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// join adds alert key to the group's open incident, opening one when
// there is none.
func join(s *Store, key, note string) func(klaxon.Group) (*klaxon.Commit, error) {
	return func(g klaxon.Group) (*klaxon.Commit, error) {
		inc := &klaxon.Incident{Group: g.Key, State: klaxon.StateTriggered, CreatedAt: t0}
		if g.Open != nil {
			inc = g.Open.Header()
		} else {
			id, err := s.NextIncidentID(context.Background())
			if err != nil {
				return nil, err
			}
			inc.ID = id
		}
		if _, ok := g.Alerts[key]; !ok {
			inc.AlertCount++
		}
		inc.Summary += note
		inc.Changed = []klaxon.AlertState{{Alert: klaxon.Alert{Key: key, Status: klaxon.Firing}, Count: g.Alerts[key].Count + 1, FirstSeen: t0, LastSeen: t0}}
		return &klaxon.Commit{Open: inc.ID, Incidents: []*klaxon.Incident{inc}, Index: []string{key}}, nil
	}
}

// TestCachedGroup: the deliveries one replica makes to a group after it
// opened the group's incident are computed from what it committed, with
// no read; what they build is what reads would have built.
func TestCachedGroup(t *testing.T) {
	addr := redistest.Start(t).Addr()
	ctx := t.Context()
	s := open(t, Options{Addrs: []string{addr}, Prefix: "cached"})
	t.Cleanup(func() { _ = s.Close() })
	reads := &groupReads{}
	s.rdb.AddHook(reads)

	for i, key := range []string{"a", "b", "a", "c"} {
		require.NoError(t, klaxon.Update(ctx, s, "g", []string{key}, join(s, key, "")), "update %d", i)
	}
	require.Equal(t, int64(1), reads.n.Load(), "the group is read once, before its incident opened")

	other := open(t, Options{Addrs: []string{addr}, Prefix: "cached"})
	t.Cleanup(func() { _ = other.Close() })
	g, err := other.Group(ctx, "g", []string{"a", "b", "c", "d"})
	require.NoError(t, err)
	require.Equal(t, uint64(4), g.Version)
	require.Equal(t, 3, g.Open.AlertCount)
	require.Equal(t, 2, g.Alerts["a"].Count)
	require.Equal(t, 1, g.Alerts["b"].Count)
	require.Equal(t, 1, g.Alerts["c"].Count)
	require.NotContains(t, g.Alerts, "d")
}

// TestCachedGroupStale: a replica whose cached group another replica
// changed since computes one commit from it, which is refused; it then
// reads the group and loses nothing of the other's.
func TestCachedGroupStale(t *testing.T) {
	addr := redistest.Start(t).Addr()
	ctx := t.Context()
	a := open(t, Options{Addrs: []string{addr}, Prefix: "stale"})
	t.Cleanup(func() { _ = a.Close() })
	b := open(t, Options{Addrs: []string{addr}, Prefix: "stale"})
	t.Cleanup(func() { _ = b.Close() })
	reads := &groupReads{}
	a.rdb.AddHook(reads)

	require.NoError(t, klaxon.Update(ctx, a, "g", []string{"x"}, join(a, "x", "a1 ")))
	require.NoError(t, klaxon.Update(ctx, b, "g", []string{"y"}, join(b, "y", "b1 ")))
	require.NoError(t, klaxon.Update(ctx, a, "g", []string{"x"}, join(a, "x", "a2 ")))
	require.Equal(t, int64(2), reads.n.Load(), "a read before its first commit and after its stale one")

	g, err := b.Group(ctx, "g", []string{"x", "y"})
	require.NoError(t, err)
	require.Equal(t, uint64(3), g.Version)
	require.Equal(t, "a1 b1 a2 ", g.Open.Summary)
	require.Equal(t, 2, g.Open.AlertCount)
	require.Equal(t, 2, g.Alerts["x"].Count)
	require.Equal(t, 1, g.Alerts["y"].Count)
}

// TestCachedGroupLostCommit: a failover loses a replica's last commit,
// and another replica's commit takes the group to the same version the
// lost one had. The first replica's cache holds that version, from its
// lost commit: the group's token tells the two states apart, and the
// other replica's commit survives.
func TestCachedGroupLostCommit(t *testing.T) {
	addr := redistest.Start(t).Addr()
	ctx := t.Context()
	a := open(t, Options{Addrs: []string{addr}, Prefix: "lost"})
	t.Cleanup(func() { _ = a.Close() })
	b := open(t, Options{Addrs: []string{addr}, Prefix: "lost"})
	t.Cleanup(func() { _ = b.Close() })

	require.NoError(t, klaxon.Update(ctx, a, "g", []string{"x"}, join(a, "x", "a1 ")))
	g, err := a.Group(ctx, "g", nil)
	require.NoError(t, err)
	tag := a.tag("g")
	keys := []string{groupKey(tag, "g"), incidentKey(tag, g.Open.ID)}
	var saved []map[string]string
	for _, k := range keys {
		m, err := a.rdb.HGetAll(ctx, k).Result()
		require.NoError(t, err)
		saved = append(saved, m)
	}
	require.NoError(t, klaxon.Update(ctx, a, "g", []string{"x"}, join(a, "x", "lost ")))

	// The failover: the group and its incident as they were before a's
	// last commit.
	for i, k := range keys {
		require.NoError(t, a.rdb.HSet(ctx, k, saved[i]).Err())
	}
	require.NoError(t, klaxon.Update(ctx, b, "g", []string{"y"}, join(b, "y", "b2 ")))
	require.NoError(t, klaxon.Update(ctx, a, "g", []string{"x"}, join(a, "x", "a3 ")))

	g, err = b.Group(ctx, "g", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(3), g.Version)
	require.Equal(t, "a1 b2 a3 ", g.Open.Summary, "b's commit survives; the lost one stays lost")
}
