package embedded

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/klaxonhq/klaxon"
	bolt "go.etcd.io/bbolt"
)

// Group reads a group and its open incident. A group never written has
// Version 0 and no open incident.
func (s *Store) Group(ctx context.Context, key string) (klaxon.Group, error) {
	if err := ctx.Err(); err != nil {
		return klaxon.Group{}, fmt.Errorf("read group %s: %w", key, err)
	}
	g := klaxon.Group{Key: key}
	err := s.db.View(func(tx *bolt.Tx) error {
		version, open := getGroup(tx, key)
		g.Version = version
		if open == "" {
			return nil
		}
		if v, inc, ok := s.cache.Get(key); ok && v == version && inc != nil && inc.ID == open {
			g.Open = inc
			return nil
		}
		inc, err := getIncident(tx, open)
		if err != nil {
			return fmt.Errorf("open incident: %w", err)
		}
		g.Open = inc
		s.cache.Put(key, version, inc)
		return nil
	})
	if err != nil {
		return klaxon.Group{}, fmt.Errorf("read group %s: %w", key, err)
	}
	return g, nil
}

// Commit applies c in one transaction if the group is still at c.Version;
// otherwise it returns an error matching klaxon.ErrConflict and changes
// nothing. Within c, Unindex wins over Index and Cancel over Timers.
func (s *Store) Commit(ctx context.Context, c klaxon.Commit) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("commit group %s: %w", c.Group, err)
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("commit group %s: %w", c.Group, err)
	}
	// Each Update is one fsync. Concurrent commits of different groups
	// could share one with db.Batch, at the price of retrying a batch
	// that fails; measure with BenchmarkCommit before switching.
	err := s.db.Update(func(tx *bolt.Tx) error {
		if version, _ := getGroup(tx, c.Group); version != c.Version {
			return fmt.Errorf("at version %d, not %d: %w", version, c.Version, klaxon.ErrConflict)
		}
		for _, inc := range c.Incidents {
			if err := putIncident(tx, inc); err != nil {
				return err
			}
		}
		if c.Open != "" && tx.Bucket(bucketIncidents).Get(incidentKey(c.Open)) == nil {
			return fmt.Errorf("open incident %s: %w", c.Open, klaxon.ErrNotFound)
		}
		if err := putGroup(tx, c.Group, c.Version+1, c.Open); err != nil {
			return err
		}
		if err := index(tx, c.Group, c.Index, c.Unindex); err != nil {
			return err
		}
		for _, t := range c.Timers {
			if err := setTimer(tx, t, c.Claim); err != nil {
				return err
			}
		}
		for _, id := range c.Cancel {
			if err := cancelTimer(tx, id, c.Claim); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit group %s: %w", c.Group, err)
	}
	return nil
}

// getGroup returns the stored version and open incident of a group.
func getGroup(tx *bolt.Tx, key string) (version uint64, open string) {
	v := tx.Bucket(bucketGroups).Get([]byte(key))
	if len(v) < 8 {
		return 0, ""
	}
	return binary.BigEndian.Uint64(v[:8]), string(v[8:])
}

func putGroup(tx *bolt.Tx, key string, version uint64, open string) error {
	v := make([]byte, 8, 8+len(open))
	binary.BigEndian.PutUint64(v, version)
	v = append(v, open...)
	if err := tx.Bucket(bucketGroups).Put([]byte(key), v); err != nil {
		return fmt.Errorf("put group: %w", err)
	}
	return nil
}

// index points alert keys at group, then removes the unindexed ones.
func index(tx *bolt.Tx, group string, keys, unkeys []string) error {
	b := tx.Bucket(bucketAlerts)
	for _, key := range keys {
		if err := b.Put([]byte(key), []byte(group)); err != nil {
			return fmt.Errorf("index alert %s: %w", key, err)
		}
	}
	for _, key := range unkeys {
		if err := b.Delete([]byte(key)); err != nil {
			return fmt.Errorf("unindex alert %s: %w", key, err)
		}
	}
	return nil
}

// AlertGroups returns the group of each indexed key; keys not indexed are
// absent from the map.
func (s *Store) AlertGroups(ctx context.Context, keys []string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read alert groups: %w", err)
	}
	groups := make(map[string]string, len(keys))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAlerts)
		for _, key := range keys {
			if v := b.Get([]byte(key)); v != nil {
				groups[key] = string(v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read alert groups: %w", err)
	}
	return groups, nil
}
