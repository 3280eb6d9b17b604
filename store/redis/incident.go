package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/klaxonhq/klaxon"
	"github.com/redis/go-redis/v9"
)

// Incident reads one incident: its group from P:id:<id>, then the record
// in the group's shard. The error matches klaxon.ErrNotFound if there is
// none.
func (s *Store) Incident(ctx context.Context, id string) (*klaxon.Incident, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read incident %s: %w", id, err)
	}
	group, err := s.rdb.Get(ctx, s.idKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read incident %s: %w", id, klaxon.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read incident %s: %w", id, classify(err))
	}
	body, err := s.rdb.HGet(ctx, incidentKey(s.tag(group), id), "j").Bytes()
	if errors.Is(err, redis.Nil) {
		// Mapped by a commit that did not land.
		return nil, fmt.Errorf("read incident %s: %w", id, klaxon.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read incident %s: %w", id, classify(err))
	}
	inc, err := decodeIncident(body)
	if err != nil {
		return nil, fmt.Errorf("read incident %s: %w", id, err)
	}
	return inc, nil
}

// listed is an incident ID found in a shard's state set.
type listed struct {
	id    string
	score float64
	tag   string
}

// Incidents lists incidents newest first, by numeric ID. A filter without
// states lists the open ones (triggered and acknowledged).
//
// Each shard keeps one sorted set per state, so Incidents asks every shard
// for the newest Limit IDs of each state asked for (one pipeline), merges
// them, keeps the newest Limit, and reads those records (a second
// pipeline). An incident whose state changed between the two is left out.
func (s *Store) Incidents(ctx context.Context, f klaxon.IncidentFilter) ([]*klaxon.Incident, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	states := slices.Clone(f.States)
	if len(states) == 0 {
		states = []klaxon.State{klaxon.StateTriggered, klaxon.StateAcknowledged}
	}
	slices.Sort(states)
	states = slices.Compact(states)
	stop := int64(-1)
	if f.Limit > 0 {
		stop = int64(f.Limit) - 1
	}

	type found struct {
		tag string
		cmd *redis.ZSliceCmd
	}
	var sets []found
	_, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		for _, tag := range s.tags {
			for _, st := range states {
				sets = append(sets, found{tag, p.ZRevRangeWithScores(ctx, stateKey(tag, st), 0, stop)})
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", classify(err))
	}
	var ids []listed
	for _, set := range sets {
		for _, z := range set.cmd.Val() {
			id, _ := z.Member.(string)
			ids = append(ids, listed{id: id, score: z.Score, tag: set.tag})
		}
	}
	slices.SortFunc(ids, func(a, b listed) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(b.id, a.id))
	})
	if f.Limit > 0 && len(ids) > f.Limit {
		ids = ids[:f.Limit]
	}
	if len(ids) == 0 {
		return nil, nil
	}

	bodies := make([]*redis.StringCmd, len(ids))
	if _, err := s.pipelined(ctx, func(p redis.Pipeliner) {
		for i, l := range ids {
			bodies[i] = p.HGet(ctx, incidentKey(l.tag, l.id), "j")
		}
	}); err != nil {
		return nil, fmt.Errorf("list incidents: %w", classify(err))
	}
	list := make([]*klaxon.Incident, 0, len(ids))
	for i, b := range bodies {
		if errors.Is(b.Err(), redis.Nil) {
			continue
		}
		inc, err := decodeIncident([]byte(b.Val()))
		if err != nil {
			return nil, fmt.Errorf("list incidents: incident %s: %w", ids[i].id, err)
		}
		if slices.Contains(states, inc.State) {
			list = append(list, inc)
		}
	}
	return list, nil
}

func decodeIncident(v []byte) (*klaxon.Incident, error) {
	var inc klaxon.Incident
	if err := json.Unmarshal(v, &inc); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &inc, nil
}
