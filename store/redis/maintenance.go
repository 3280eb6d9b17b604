package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Runtime maintenance windows: P:mw is a hash of window ID → JSON, P:mwseq
// the ID counter; one command at a time, as the overrides.

var _ klaxon.MaintenanceStore = (*Store)(nil)

func (s *Store) maintenanceKey() string { return s.prefix + ":mw" }

// PutMaintenance stores m under a new ID, and drops windows that ended
// by now.
func (s *Store) PutMaintenance(ctx context.Context, m klaxon.Maintenance, now time.Time) (klaxon.Maintenance, error) {
	seq, err := s.rdb.Incr(ctx, s.prefix+":mwseq").Result()
	if err != nil {
		return m, fmt.Errorf("put maintenance: %w", classify(err))
	}
	m.ID = strconv.FormatInt(seq, 10)
	v, err := json.Marshal(m)
	if err != nil {
		return m, fmt.Errorf("put maintenance: %w", err)
	}
	if err := s.rdb.HSet(ctx, s.maintenanceKey(), m.ID, v).Err(); err != nil {
		return m, fmt.Errorf("put maintenance: %w", classify(err))
	}
	if _, err := s.maintenances(ctx, now, true); err != nil {
		return m, fmt.Errorf("put maintenance: %w", err)
	}
	return m, nil
}

// Maintenances lists the windows not ended at now, by start.
func (s *Store) Maintenances(ctx context.Context, now time.Time) ([]klaxon.Maintenance, error) {
	out, err := s.maintenances(ctx, now, false)
	if err != nil {
		return nil, fmt.Errorf("list maintenance: %w", err)
	}
	return out, nil
}

// maintenances reads the windows not ended at now; with prune it deletes
// the ended ones.
func (s *Store) maintenances(ctx context.Context, now time.Time, prune bool) ([]klaxon.Maintenance, error) {
	all, err := s.rdb.HGetAll(ctx, s.maintenanceKey()).Result()
	if err != nil {
		return nil, classify(err)
	}
	var out []klaxon.Maintenance
	var ended []string
	for id, v := range all {
		var m klaxon.Maintenance
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return nil, fmt.Errorf("maintenance %s: %w", id, err)
		}
		if m.To.After(now) {
			out = append(out, m)
		} else {
			ended = append(ended, id)
		}
	}
	if prune && len(ended) > 0 {
		if err := s.rdb.HDel(ctx, s.maintenanceKey(), ended...).Err(); err != nil {
			return nil, classify(err)
		}
	}
	slices.SortFunc(out, func(a, b klaxon.Maintenance) int { return a.From.Compare(b.From) })
	return out, nil
}

// EndMaintenance removes window id.
func (s *Store) EndMaintenance(ctx context.Context, id string) error {
	n, err := s.rdb.HDel(ctx, s.maintenanceKey(), id).Result()
	switch {
	case err != nil:
		return fmt.Errorf("end maintenance %s: %w", id, classify(err))
	case n == 0:
		return fmt.Errorf("maintenance %s: %w", id, klaxon.ErrNotFound)
	}
	return nil
}
