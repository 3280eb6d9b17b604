package redis

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// TestStoreDetails checks what the contract suite leaves open, on one
// server, each case under its own prefix.
func TestStoreDetails(t *testing.T) {
	addr := redistest.Start(t).Addr()
	fresh := func(t *testing.T) *Store {
		s := open(t, Options{Addrs: []string{addr}, Prefix: t.Name()})
		t.Cleanup(func() { _ = s.Close() })
		return s
	}

	t.Run("invalid commits write nothing", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		tests := []struct {
			name string
			c    klaxon.Commit
		}{
			{"no group", klaxon.Commit{}},
			{"no incident id", klaxon.Commit{Group: "g", Incidents: []*klaxon.Incident{{}}}},
			{"nil incident", klaxon.Commit{Group: "g", Incidents: []*klaxon.Incident{nil}}},
			{"timer without due", klaxon.Commit{Group: "g", Timers: []klaxon.Timer{{Incident: "1", Group: "g"}}}},
			{"timer of another group", klaxon.Commit{Group: "g", Timers: []klaxon.Timer{{Incident: "1", Group: "h", Due: t0}}}},
			{"empty alert key", klaxon.Commit{Group: "g", Index: []string{""}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				require.ErrorIs(t, s.Commit(ctx, tt.c), klaxon.ErrInvalid)
			})
		}
		err := s.Commit(ctx, klaxon.Commit{Group: "g", Open: "9", Index: []string{"am/a"}})
		require.ErrorIs(t, err, klaxon.ErrNotFound, "the open incident must exist")
		g, err := s.Group(ctx, "g", nil)
		require.NoError(t, err)
		require.Zero(t, g.Version)
		groups, err := s.AlertGroups(ctx, []string{"am/a"})
		require.NoError(t, err)
		require.Empty(t, groups, "the entry written ahead does not count")
	})

	// On one server the keys outside the shard go with the script: a
	// commit is one round trip, and one refused leaves no entry.
	t.Run("one round trip", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		commitIncident(t, s, "warm", "am/warm") // the script is loaded
		id, err := s.NextIncidentID(ctx)
		require.NoError(t, err)
		trips := &roundTrips{}
		s.rdb.AddHook(trips)
		inc := &klaxon.Incident{ID: id, Group: "g", State: klaxon.StateTriggered, CreatedAt: t0, AlertCount: 1, FiringCount: 1,
			Changed: []klaxon.AlertState{{Alert: klaxon.Alert{Key: "am/a", Status: klaxon.Firing}, Count: 1, FirstSeen: t0, LastSeen: t0}},
			Sent:    []klaxon.Sent{{User: "alice"}}}
		c := klaxon.Commit{Group: "g", Open: id, Incidents: []*klaxon.Incident{inc}, Index: []string{"am/a"},
			Paged: []klaxon.Paging{{User: "alice", Incident: id}}}
		require.NoError(t, s.Commit(ctx, c))
		require.Equal(t, int64(1), trips.n.Load())
		s.cache.Drop("g")
		groups, err := s.AlertGroups(ctx, []string{"am/a"})
		require.NoError(t, err)
		require.Equal(t, map[string]string{"am/a": "g"}, groups)
		got, err := s.Incident(ctx, id)
		require.NoError(t, err)
		require.Equal(t, "g", got.Group)
		paged, err := s.PagedIncidents(ctx, "alice")
		require.NoError(t, err)
		require.Len(t, paged, 1)

		c.Index = []string{"am/b"} // at version 0 again: refused
		require.ErrorIs(t, s.Commit(ctx, c), klaxon.ErrConflict)
		require.False(t, exists(t, s, s.alertKey("am/b")), "a refused commit leaves no entry")
	})

	t.Run("an entry that cannot be written leaves the commit out", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		require.NoError(t, s.rdb.Set(ctx, s.pagedKey("bob"), "not a set", 0).Err())
		id, err := s.NextIncidentID(ctx)
		require.NoError(t, err)
		inc := &klaxon.Incident{ID: id, Group: "g", State: klaxon.StateTriggered, CreatedAt: t0}
		err = s.Commit(ctx, klaxon.Commit{Group: "g", Open: id, Incidents: []*klaxon.Incident{inc}, Index: []string{"am/a"},
			Paged: []klaxon.Paging{{User: "bob", Incident: id}}})
		require.ErrorContains(t, err, "WRONGTYPE")
		s.cache.Drop("g")
		g, err := s.Group(ctx, "g", nil)
		require.NoError(t, err)
		require.Zero(t, g.Version, "the group is as it was")
		require.Nil(t, g.Open)
	})

	t.Run("a commit sent twice applies once", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		c := klaxon.Commit{Group: "g", Version: 0, Index: []string{"am/a"}}
		keys, args, _, err := s.commitCall(c, "token1", s.aheadOf(c, "token1"), true)
		require.NoError(t, err)
		for range 2 { // as go-redis does when a reply is lost
			reply, err := commitScript.Run(ctx, s.rdb, keys, args...).Slice()
			require.NoError(t, err)
			require.Equal(t, int64(committed), reply[0])
		}
		g, err := s.Group(ctx, "g", nil)
		require.NoError(t, err)
		require.Equal(t, uint64(1), g.Version)
		keys, args, _, err = s.commitCall(c, "token2", s.aheadOf(c, "token2"), true)
		require.NoError(t, err)
		reply, err := commitScript.Run(ctx, s.rdb, keys, args...).Slice()
		require.NoError(t, err)
		require.Equal(t, []any{int64(conflicted), "1"}, reply, "another commit at the same version conflicts")
	})

	t.Run("a commit sent again after another landed on it applies once", func(t *testing.T) {
		// go-redis sends a whole pipeline again when a reply of it is
		// lost: a commit whose reply had been read runs again, and
		// another commit of its group may have landed in between.
		s := fresh(t)
		ctx := t.Context()
		send := func(c klaxon.Commit, token string) []any {
			keys, args, _, err := s.commitCall(c, token, s.aheadOf(c, token), true)
			require.NoError(t, err)
			reply, err := commitScript.Run(ctx, s.rdb, keys, args...).Slice()
			require.NoError(t, err)
			return reply
		}
		first := klaxon.Commit{Group: "g", Version: 0, Index: []string{"am/a"}}
		require.Equal(t, int64(committed), send(first, "token1")[0])
		require.Equal(t, int64(committed), send(klaxon.Commit{Group: "g", Version: 1, Token: "token1"}, "token2")[0])
		require.Equal(t, []any{int64(committed)}, send(first, "token1"), "sent again: it applied")
		require.Equal(t, int64(committed), send(klaxon.Commit{Group: "g", Version: 2, Token: "token2"}, "token3")[0])
		require.Equal(t, []any{int64(conflicted), "3"}, send(first, "token1"),
			"two commits later the store no longer knows it, and says so rather than apply it again")
		g, err := s.Group(ctx, "g", nil)
		require.NoError(t, err)
		require.Equal(t, uint64(3), g.Version, "applied once")
	})

	t.Run("scripts flushed", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		require.NoError(t, s.rdb.ScriptFlush(ctx).Err())
		id := commitIncident(t, s, "g", "am/a")
		require.NoError(t, s.rdb.ScriptFlush(ctx).Err())
		due, _, err := s.Claim(ctx, t0, time.Minute, 10)
		require.NoError(t, err)
		require.Len(t, due, 1)
		require.NoError(t, s.rdb.ScriptFlush(ctx).Err())
		g, err := s.Group(ctx, "g", nil)
		require.NoError(t, err)
		require.NoError(t, s.rdb.ScriptFlush(ctx).Err())
		resolved := *g.Open
		resolved.State = klaxon.StateResolved
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 1, Incidents: []*klaxon.Incident{&resolved}, Cancel: []string{id}}))
		require.False(t, exists(t, s, s.alertKey("am/a")), "the entry of an unindexed alert is gone")
	})

	// An alert indexed again by another group belongs to it, even when
	// the first group's incident resolves afterwards, which unindexes its
	// alerts; in the same shard and across shards.
	t.Run("unindex leaves a moved alert", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		same, other := "", ""
		for i := 0; same == "" || other == ""; i++ {
			g := fmt.Sprintf("g%d", i+2)
			if s.shard(g) == s.shard("g1") && g != "g1" {
				same = g
			} else if s.shard(g) != s.shard("g1") {
				other = g
			}
		}
		for _, g2 := range []string{same, other} {
			alert := "am/" + g2
			id, err := s.NextIncidentID(ctx)
			require.NoError(t, err)
			require.NoError(t, klaxon.Update(ctx, s, "g1", nil, func(klaxon.Group) (*klaxon.Commit, error) {
				inc := &klaxon.Incident{ID: id, Group: "g1", State: klaxon.StateTriggered, AlertCount: 1, FiringCount: 1,
					Changed: []klaxon.AlertState{{Alert: klaxon.Alert{Key: alert, Status: klaxon.Firing}, Count: 1}}}
				return &klaxon.Commit{Open: id, Incidents: []*klaxon.Incident{inc}, Index: []string{alert}}, nil
			}))
			require.NoError(t, klaxon.Update(ctx, s, g2, nil, func(klaxon.Group) (*klaxon.Commit, error) {
				return &klaxon.Commit{Index: []string{alert}}, nil
			}))
			require.NoError(t, klaxon.Update(ctx, s, "g1", nil, func(g klaxon.Group) (*klaxon.Commit, error) {
				inc := *g.Open
				inc.State = klaxon.StateResolved
				return &klaxon.Commit{Incidents: []*klaxon.Incident{&inc}}, nil
			}))
			groups, err := s.AlertGroups(ctx, []string{alert})
			require.NoError(t, err)
			require.Equal(t, map[string]string{alert: g2}, groups)
		}
	})

	t.Run("sub-microsecond times", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		due := t0.Add(1500 * time.Nanosecond)
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Timers: []klaxon.Timer{{Incident: "1", Group: "g", Due: due}}}))
		got, next, err := s.Claim(ctx, due, time.Minute, 10)
		require.NoError(t, err)
		require.Empty(t, got, "ready at the next microsecond, never early")
		require.Equal(t, t0.Add(2*time.Microsecond), next)
		got, _, err = s.Claim(ctx, next, time.Minute, 10)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.True(t, due.Equal(got[0].Due), "the due time comes back exact")
	})

	t.Run("open", func(t *testing.T) {
		_, err := Open(t.Context(), Options{})
		require.ErrorIs(t, err, klaxon.ErrInvalid)
		_, err = Open(t.Context(), Options{Addrs: []string{addr}, Prefix: "a{b}"})
		require.ErrorIs(t, err, klaxon.ErrInvalid)
		_, err = Open(t.Context(), Options{Addrs: []string{addr}, Shards: -1})
		require.ErrorIs(t, err, klaxon.ErrInvalid)
		s := open(t, Options{Addrs: []string{addr}, Prefix: "shards", Shards: 16})
		require.NoError(t, s.Close())
		_, err = Open(t.Context(), Options{Addrs: []string{addr}, Prefix: "shards"})
		require.ErrorIs(t, err, klaxon.ErrInvalid, "a prefix keeps its shard count")
		require.ErrorContains(t, err, "16 shards, not 256")
	})
}

// TestGhostIncident: an incident ID mapped ahead by a commit that never
// landed is not found, for its alerts and its timeline too.
func TestGhostIncident(t *testing.T) {
	s := open(t, Options{Addrs: []string{redistest.Start(t).Addr()}})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	require.NoError(t, s.rdb.Set(ctx, s.idKey("77"), "g", 0).Err())
	_, err := s.Incident(ctx, "77")
	require.ErrorIs(t, err, klaxon.ErrNotFound)
	_, _, err = s.IncidentAlerts(ctx, "77", "", 10)
	require.ErrorIs(t, err, klaxon.ErrNotFound)
	_, _, err = s.Timeline(ctx, "77", 0, 10)
	require.ErrorIs(t, err, klaxon.ErrNotFound)
}

// TestUrgentView: the engine's view of the store sees and writes the same
// keys through connections of its own, and closing it closes nothing.
func TestUrgentView(t *testing.T) {
	s := open(t, Options{Addrs: []string{redistest.Start(t).Addr()}})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	u := s.Urgent()
	id := commitIncident(t, s, "g", "am/a")
	g, err := u.Group(ctx, "g", []string{"am/a"})
	require.NoError(t, err)
	require.Equal(t, id, g.Open.ID)
	require.Contains(t, g.Alerts, "am/a")
	due, _, err := u.Claim(ctx, t0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.NoError(t, u.Close())
	require.NoError(t, s.Ping(ctx), "the view's Close leaves the store open")
	_, err = u.Incident(ctx, id)
	require.NoError(t, err, "and the view too")
}

// TestClaimGroups: ClaimGroups reads and claims the timers of the shards
// of the groups named, and none of another shard's; Claim still finds
// those.
func TestClaimGroups(t *testing.T) {
	s := open(t, Options{Addrs: []string{redistest.Start(t).Addr()}})
	defer s.Close()
	ctx := t.Context()
	one, two := "g1", "g2"
	for i := 2; s.shard(two) == s.shard(one); i++ {
		two = fmt.Sprintf("g%d", i+1)
	}
	a, b := commitIncident(t, s, one, "am/1"), commitIncident(t, s, two, "am/2")

	// With room for one, a claim that read the other shard would say its
	// timer is ready now.
	due, next, err := s.ClaimGroups(ctx, t0, time.Minute, 1, []string{one, one})
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, a, due[0].Incident)
	require.Zero(t, next, "the other shard was not read")

	due, _, err = s.Claim(ctx, t0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, b, due[0].Incident, "the other shard's timer, for a claim over all")

	due, next, err = s.ClaimGroups(ctx, t0, time.Minute, 10, nil)
	require.NoError(t, err)
	require.Empty(t, due)
	require.Zero(t, next)
}

// roundTrips counts the commands and pipelines sent.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// exists reports whether Redis holds key.
func exists(t *testing.T, s *Store, key string) bool {
	t.Helper()
	n, err := s.rdb.Exists(t.Context(), key).Result()
	require.NoError(t, err)
	return n > 0
}
