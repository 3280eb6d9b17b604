package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// bucketOverrides: schedule + "\x00" + ID → override JSON.
var bucketOverrides = []byte("overrides")

var _ klaxon.OverrideStore = (*Store)(nil)

func overrideKey(schedule, id string) []byte { return []byte(schedule + "\x00" + id) }

// PutOverride stores o under a new ID, and drops overrides that ended by
// now.
func (s *Store) PutOverride(ctx context.Context, o klaxon.Override, now time.Time) (klaxon.Override, error) {
	if err := ctx.Err(); err != nil {
		return o, fmt.Errorf("put override: %w", err)
	}
	if o.Schedule == "" || strings.ContainsRune(o.Schedule, 0) {
		return o, fmt.Errorf("put override: schedule %q: %w", o.Schedule, klaxon.ErrInvalid)
	}
	err := s.update(ctx, false, func(tx *txn) error {
		b, err := tx.CreateBucketIfNotExists(bucketOverrides)
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		o.ID = strconv.FormatUint(seq, 10)
		if err := pruneOverrides(b, now); err != nil {
			return err
		}
		v, err := json.Marshal(o)
		if err != nil {
			return err
		}
		return b.Put(overrideKey(o.Schedule, o.ID), v)
	})
	if err != nil {
		return o, fmt.Errorf("put override for %s: %w", o.Schedule, err)
	}
	return o, nil
}

// pruneOverrides deletes overrides that ended before now.
func pruneOverrides(b *bucket, now time.Time) error {
	var ended [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var o klaxon.Override
		if err := json.Unmarshal(v, &o); err != nil {
			return err
		}
		if !o.To.After(now) {
			ended = append(ended, k)
		}
		return nil
	})
	for _, k := range ended {
		if err == nil {
			err = b.Delete(k)
		}
	}
	return err
}

// Overrides lists the overrides of schedule ("" for all) not ended at now.
func (s *Store) Overrides(ctx context.Context, schedule string, now time.Time) ([]klaxon.Override, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list overrides: %w", err)
	}
	var out []klaxon.Override
	err := s.view(func(tx *txn) error {
		b := tx.Bucket(bucketOverrides)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		prefix := []byte(nil)
		if schedule != "" {
			prefix = overrideKey(schedule, "")
		}
		for k, v := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, v = c.Next() {
			var o klaxon.Override
			if err := json.Unmarshal(v, &o); err != nil {
				return fmt.Errorf("override %q: %w", k, err)
			}
			if o.To.After(now) {
				out = append(out, o)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list overrides: %w", err)
	}
	slices.SortFunc(out, func(a, b klaxon.Override) int { return a.From.Compare(b.From) })
	return out, nil
}

// DeleteOverride removes one override.
func (s *Store) DeleteOverride(ctx context.Context, schedule, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete override: %w", err)
	}
	return s.update(ctx, false, func(tx *txn) error {
		b := tx.Bucket(bucketOverrides)
		if b == nil || b.Get(overrideKey(schedule, id)) == nil {
			return fmt.Errorf("override %s of %s: %w", id, schedule, klaxon.ErrNotFound)
		}
		return b.Delete(overrideKey(schedule, id))
	})
}
