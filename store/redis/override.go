package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonhq/klaxon"
)

// Runtime overrides: P:ov:<schedule> is a hash of override ID → JSON,
// P:ovs the set of schedules that have one, P:ovseq the ID counter. Each
// call touches its keys one command at a time, so no script spans slots.

var _ klaxon.OverrideStore = (*Store)(nil)

func (s *Store) overridesKey(schedule string) string { return s.prefix + ":ov:" + schedule }

// PutOverride stores o under a new ID, and drops overrides of its
// schedule that ended by now.
func (s *Store) PutOverride(ctx context.Context, o klaxon.Override, now time.Time) (klaxon.Override, error) {
	if o.Schedule == "" {
		return o, fmt.Errorf("put override: no schedule: %w", klaxon.ErrInvalid)
	}
	seq, err := s.rdb.Incr(ctx, s.prefix+":ovseq").Result()
	if err != nil {
		return o, fmt.Errorf("put override for %s: %w", o.Schedule, classify(err))
	}
	o.ID = strconv.FormatInt(seq, 10)
	v, err := json.Marshal(o)
	if err != nil {
		return o, fmt.Errorf("put override for %s: %w", o.Schedule, err)
	}
	if err := s.rdb.HSet(ctx, s.overridesKey(o.Schedule), o.ID, v).Err(); err != nil {
		return o, fmt.Errorf("put override for %s: %w", o.Schedule, classify(err))
	}
	if err := s.rdb.SAdd(ctx, s.prefix+":ovs", o.Schedule).Err(); err != nil {
		return o, fmt.Errorf("put override for %s: %w", o.Schedule, classify(err))
	}
	if _, err := s.overrides(ctx, o.Schedule, now, true); err != nil {
		return o, fmt.Errorf("put override for %s: %w", o.Schedule, err)
	}
	return o, nil
}

// Overrides lists the overrides of schedule ("" for all) not ended at now.
func (s *Store) Overrides(ctx context.Context, schedule string, now time.Time) ([]klaxon.Override, error) {
	names := []string{schedule}
	if schedule == "" {
		var err error
		if names, err = s.rdb.SMembers(ctx, s.prefix+":ovs").Result(); err != nil {
			return nil, fmt.Errorf("list overrides: %w", classify(err))
		}
	}
	var out []klaxon.Override
	for _, name := range names {
		ovs, err := s.overrides(ctx, name, now, false)
		if err != nil {
			return nil, fmt.Errorf("list overrides: %w", err)
		}
		out = append(out, ovs...)
	}
	slices.SortFunc(out, func(a, b klaxon.Override) int { return a.From.Compare(b.From) })
	return out, nil
}

// overrides reads one schedule's overrides not ended at now; with prune
// it deletes the ended ones.
func (s *Store) overrides(ctx context.Context, schedule string, now time.Time, prune bool) ([]klaxon.Override, error) {
	all, err := s.rdb.HGetAll(ctx, s.overridesKey(schedule)).Result()
	if err != nil {
		return nil, classify(err)
	}
	var out []klaxon.Override
	var ended []string
	for id, v := range all {
		var o klaxon.Override
		if err := json.Unmarshal([]byte(v), &o); err != nil {
			return nil, fmt.Errorf("override %s of %s: %w", id, schedule, err)
		}
		if o.To.After(now) {
			out = append(out, o)
		} else {
			ended = append(ended, id)
		}
	}
	if prune && len(ended) > 0 {
		if err := s.rdb.HDel(ctx, s.overridesKey(schedule), ended...).Err(); err != nil {
			return nil, classify(err)
		}
	}
	return out, nil
}

// DeleteOverride removes one override.
func (s *Store) DeleteOverride(ctx context.Context, schedule, id string) error {
	n, err := s.rdb.HDel(ctx, s.overridesKey(schedule), id).Result()
	switch {
	case errors.Is(err, redis.Nil), err == nil && n == 0:
		return fmt.Errorf("override %s of %s: %w", id, schedule, klaxon.ErrNotFound)
	case err != nil:
		return fmt.Errorf("delete override %s of %s: %w", id, schedule, classify(err))
	}
	return nil
}
