package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
)

// bucketMaintenance: ID → runtime maintenance window JSON.
var bucketMaintenance = []byte("maintenance")

var _ klaxon.MaintenanceStore = (*Store)(nil)

// PutMaintenance stores m under a new ID, and drops windows that ended
// by now.
func (s *Store) PutMaintenance(ctx context.Context, m klaxon.Maintenance, now time.Time) (klaxon.Maintenance, error) {
	if err := ctx.Err(); err != nil {
		return m, fmt.Errorf("put maintenance: %w", err)
	}
	err := s.update(ctx, false, func(tx *txn) error {
		b, err := tx.CreateBucketIfNotExists(bucketMaintenance)
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		m.ID = strconv.FormatUint(seq, 10)
		var ended [][]byte
		err = b.ForEach(func(k, v []byte) error {
			var w klaxon.Maintenance
			if err := json.Unmarshal(v, &w); err != nil {
				return fmt.Errorf("maintenance %s: %w", k, err)
			}
			if !w.To.After(now) {
				ended = append(ended, k)
			}
			return nil
		})
		for _, k := range ended {
			if err == nil {
				err = b.Delete(k)
			}
		}
		if err != nil {
			return err
		}
		v, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return b.Put([]byte(m.ID), v)
	})
	if err != nil {
		return m, fmt.Errorf("put maintenance: %w", err)
	}
	return m, nil
}

// Maintenances lists the windows not ended at now, by start.
func (s *Store) Maintenances(ctx context.Context, now time.Time) ([]klaxon.Maintenance, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list maintenance: %w", err)
	}
	var out []klaxon.Maintenance
	err := s.view(func(tx *txn) error {
		b := tx.Bucket(bucketMaintenance)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var w klaxon.Maintenance
			if err := json.Unmarshal(v, &w); err != nil {
				return fmt.Errorf("maintenance %s: %w", k, err)
			}
			if w.To.After(now) {
				out = append(out, w)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list maintenance: %w", err)
	}
	slices.SortFunc(out, func(a, b klaxon.Maintenance) int { return a.From.Compare(b.From) })
	return out, nil
}

// EndMaintenance removes window id.
func (s *Store) EndMaintenance(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("end maintenance: %w", err)
	}
	return s.update(ctx, false, func(tx *txn) error {
		b := tx.Bucket(bucketMaintenance)
		if b == nil || b.Get([]byte(id)) == nil {
			return fmt.Errorf("maintenance %s: %w", id, klaxon.ErrNotFound)
		}
		return b.Delete([]byte(id))
	})
}
