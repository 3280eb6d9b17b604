package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// scriptKeys records the keys of every script call a client sends.
type scriptKeys struct {
	mu   sync.Mutex
	runs [][]string
}

func (h *scriptKeys) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *scriptKeys) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.record(cmd)
		return next(ctx, cmd)
	}
}

func (h *scriptKeys) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			h.record(cmd)
		}
		return next(ctx, cmds)
	}
}

func (h *scriptKeys) record(cmd redis.Cmder) {
	name := cmd.Name()
	if name != "evalsha" && name != "eval" {
		return
	}
	args := cmd.Args()
	n, _ := strconv.Atoi(fmt.Sprint(args[2]))
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprint(args[3+i])
	}
	h.mu.Lock()
	h.runs = append(h.runs, keys)
	h.mu.Unlock()
}

// clusterChecks runs what is particular to a cluster on c.
func clusterChecks(t *testing.T, c *redistest.Cluster) {

	// Every script, commit.lua above all, names keys of one slot only;
	// the keys that commit.lua and group.lua build from the shard's tag
	// (state sets, the open incident) are in that slot too.
	t.Run("one slot per script", func(t *testing.T) {
		s := open(t, Options{Addrs: c.Addrs(), Prefix: "slots"})
		t.Cleanup(func() { _ = s.Close() })
		ctx := t.Context()
		h := &scriptKeys{}
		s.rdb.AddHook(h)

		id := commitIncident(t, s, "alertname=DiskFull,service=db", "am/a", "am/b")
		g, err := s.Group(ctx, "alertname=DiskFull,service=db", nil)
		require.NoError(t, err)
		inc := g.Open
		inc.State = klaxon.StateResolved
		require.NoError(t, s.Commit(ctx, klaxon.Commit{
			Group: inc.Group, Version: g.Version,
			Incidents: []*klaxon.Incident{inc},
			Cancel:    []string{id},
		}))
		commitIncident(t, s, "alertname=DiskFull,service=web")
		_, _, err = s.Claim(ctx, t0.Add(time.Hour), time.Minute, 10)
		require.NoError(t, err)

		tag := s.tag(inc.Group)
		built := []string{stateKey(tag, klaxon.StateTriggered), stateKey(tag, klaxon.StateResolved), incidentKey(tag, id),
			incidentAlertsKey(tag, id), timelineKey(tag, id)}
		require.NotEmpty(t, h.runs)
		for _, keys := range h.runs {
			slots := map[int64]bool{}
			if strings.HasPrefix(keys[0], tag) {
				keys = append(keys, built...)
			}
			for _, k := range keys {
				slot, err := s.rdb.ClusterKeySlot(ctx, k).Result()
				require.NoError(t, err)
				slots[slot] = true
			}
			require.Len(t, slots, 1, "keys %q", keys)
		}
	})

	t.Run("one address of the cluster", func(t *testing.T) {
		s := open(t, Options{Addrs: c.Addrs()[:1], Prefix: "seed"})
		t.Cleanup(func() { _ = s.Close() })
		require.IsType(t, &redis.ClusterClient{}, s.rdb)
		for i := range 16 {
			commitIncident(t, s, fmt.Sprintf("g%d", i))
		}
		require.NoError(t, s.Ping(t.Context()))
		aof, rdb, err := s.Persistence(t.Context())
		require.NoError(t, err)
		require.False(t, aof || rdb, "the test cluster keeps nothing")
	})

	// Groups spread over shards, so over slots and over every master:
	// no single hot slot.
	t.Run("groups spread", func(t *testing.T) {
		s := open(t, Options{Addrs: c.Addrs(), Prefix: "spread"})
		t.Cleanup(func() { _ = s.Close() })
		ctx := t.Context()
		shards, slots := map[int]bool{}, map[int64]bool{}
		for i := range 64 {
			group := fmt.Sprintf("alertname=DiskFull,service=svc%d", i)
			commitIncident(t, s, group)
			shards[s.shard(group)] = true
			slot, err := s.rdb.ClusterKeySlot(ctx, groupKey(s.tag(group), group)).Result()
			require.NoError(t, err)
			slots[slot] = true
		}
		require.Greater(t, len(shards), 48, "64 groups in 256 shards")
		require.Len(t, slots, len(shards), "one slot per shard")

		var mu sync.Mutex
		perMaster := map[string]int{}
		err := s.rdb.(*redis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			keys, err := m.Keys(ctx, "{spread:s*}:g:*").Result()
			mu.Lock()
			perMaster[m.Options().Addr] = len(keys)
			mu.Unlock()
			return err
		})
		require.NoError(t, err)
		require.Len(t, perMaster, 3)
		for addr, n := range perMaster {
			require.Positive(t, n, "master %s holds groups", addr)
		}
	})
}
