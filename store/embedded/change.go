package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/internal/changekey"
)

// bucketChanges: integration + "\x00" + changekey.Key(at, seq) → change
// JSON; bucketChangeCounts: integration → how many changes it keeps
// (8 bytes, big-endian), so that a put finds whether it is over the
// bound without counting them, then the changekey of the oldest it
// keeps, where a put's walk of the oldest starts.
var (
	bucketChanges      = []byte("changes")
	bucketChangeCounts = []byte("change_counts")
)

var _ klaxon.ChangeStore = (*Store)(nil)

// changePrefix is where integration's changes start in bucketChanges,
// followed by more: each call's bytes are its own.
func changePrefix(integration string, more ...byte) []byte {
	return append([]byte(integration+"\x00"), more...)
}

// PutChange stores c under a new ID, and drops its integration's changes
// older than b.Age before now and its oldest past b.Count: the oldest
// keys of its range, amortised one or two a put.
func (s *Store) PutChange(ctx context.Context, c klaxon.Change, now time.Time, b klaxon.ChangeBounds) (klaxon.Change, error) {
	if err := ctx.Err(); err != nil {
		return c, fmt.Errorf("put change: %w", err)
	}
	if c.Integration == "" || strings.ContainsRune(c.Integration, 0) {
		return c, fmt.Errorf("put change: integration %q: %w", c.Integration, klaxon.ErrInvalid)
	}
	b = b.WithDefaults()
	err := s.update(ctx, false, func(tx *txn) error {
		changes, err := tx.CreateBucketIfNotExists(bucketChanges)
		if err != nil {
			return err
		}
		counts, err := tx.CreateBucketIfNotExists(bucketChangeCounts)
		if err != nil {
			return err
		}
		seq, err := changes.NextSequence()
		if err != nil {
			return err
		}
		c.ID = strconv.FormatUint(seq, 10)
		v, err := klaxon.EncodeChange(c)
		if err != nil {
			return err
		}
		prefix := changePrefix(c.Integration)
		key := changePrefix(c.Integration, changekey.Key(c.At, seq)...)
		if err := changes.Put(key, v); err != nil {
			return err
		}
		// The count, then the key of the oldest change kept: the walk
		// starts there, past the deletes of the puts before, which the
		// writer's layer holds until its next checkpoint.
		kept, from := uint64(1), prefix
		if n := counts.Get([]byte(c.Integration)); len(n) >= 8 {
			kept += binary.BigEndian.Uint64(n)
			if len(n) > 8 {
				from = changePrefix(c.Integration, n[8:]...)
			}
		}
		if bytes.Compare(key, from) < 0 {
			from = key
		}
		// The oldest first: those before the cutoff, then those past the
		// count.
		cutoff := changePrefix(c.Integration, changekey.Time(now.Add(-b.Age))...)
		var drop [][]byte
		var oldest []byte
		cur := changes.Cursor()
		for k, _ := cur.Seek(from); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			if bytes.Compare(k, cutoff) >= 0 && kept-uint64(len(drop)) <= uint64(b.Count) {
				oldest = k[len(prefix):]
				break
			}
			drop = append(drop, bytes.Clone(k))
		}
		count := binary.BigEndian.AppendUint64(nil, kept-uint64(len(drop)))
		count = append(count, oldest...) // before the deletes, while k is valid
		for _, k := range drop {
			if err := changes.Delete(k); err != nil {
				return err
			}
		}
		return counts.Put([]byte(c.Integration), count)
	})
	if err != nil {
		return c, fmt.Errorf("put change of %s: %w", c.Integration, err)
	}
	return c, nil
}

// Changes lists up to limit changes of integration whose At is in
// [from, to], newest first: its range read backwards from to.
func (s *Store) Changes(ctx context.Context, integration string, from, to time.Time, limit int) ([]klaxon.Change, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list changes: %w", err)
	}
	if limit <= 0 || to.Before(from) || strings.ContainsRune(integration, 0) {
		return nil, nil
	}
	lo := changePrefix(integration, changekey.Time(from)...)
	hi := changePrefix(integration, changekey.Time(to.Add(1))...)
	var out []klaxon.Change
	err := s.view(func(tx *txn) error {
		b := tx.Bucket(bucketChanges)
		if b == nil {
			return nil
		}
		cur := b.Cursor()
		k, v := cur.Seek(hi)
		if k == nil {
			k, v = cur.Last()
		} else {
			k, v = cur.Prev()
		}
		for ; k != nil && bytes.Compare(k, lo) >= 0 && len(out) < limit; k, v = cur.Prev() {
			var c klaxon.Change
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("change %q: %w", k, err)
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list changes of %s: %w", integration, err)
	}
	return out, nil
}
