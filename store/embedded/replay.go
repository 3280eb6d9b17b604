package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

// Callbacks seen: bucketCallbacks holds key → expiry (8 bytes), and
// bucketCallbackExpiry expiry (8 bytes) + key → empty, to drop the
// expired ones in order.
var (
	bucketCallbacks      = []byte("callbacks")
	bucketCallbackExpiry = []byte("callback_expiry")
)

// pruneCallbacks bounds the expired entries one call drops.
const pruneCallbacks = 64

// FirstTime records key until now+ttl and reports whether it was not
// already recorded: a callback (a Twilio message or key press) acts once,
// however often it is delivered again.
func (s *Store) FirstTime(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	first := false
	err := s.update(ctx, true, func(tx *txn) error {
		// The writer may run this again (mem rebuilt after a frame that
		// failed): the answer is its last run's.
		first = false
		seen, err := tx.CreateBucketIfNotExists(bucketCallbacks)
		if err != nil {
			return err
		}
		byExpiry, err := tx.CreateBucketIfNotExists(bucketCallbackExpiry)
		if err != nil {
			return err
		}
		// Drop some expired entries; a key recorded again since keeps its
		// new record.
		c := byExpiry.Cursor()
		k, _ := c.First()
		for range pruneCallbacks {
			if len(k) < 8 || int64(binary.BigEndian.Uint64(k[:8])) > now.UnixNano() {
				break
			}
			old := bytes.Clone(k)
			if bytes.Equal(seen.Get(old[8:]), old[:8]) {
				if err := seen.Delete(old[8:]); err != nil {
					return err
				}
			}
			if err := byExpiry.Delete(old); err != nil {
				return err
			}
			k, _ = c.Next()
		}
		if v := seen.Get([]byte(key)); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) > now.UnixNano() {
			return nil
		}
		first = true
		until := binary.BigEndian.AppendUint64(nil, uint64(now.Add(ttl).UnixNano()))
		if err := seen.Put([]byte(key), until); err != nil {
			return err
		}
		return byExpiry.Put(append(bytes.Clone(until), key...), []byte{})
	})
	if err != nil {
		return false, fmt.Errorf("record callback: %w", err)
	}
	return first, nil
}

// Remembered reports whether key is recorded (FirstTime) and its record
// has not ended at now.
func (s *Store) Remembered(ctx context.Context, key string, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	found := false
	s.w.mu.Lock()
	err := s.read(func(tx *txn) error {
		seen := tx.Bucket(bucketCallbacks)
		if seen == nil {
			return nil
		}
		v := seen.Get([]byte(key))
		found = len(v) == 8 && int64(binary.BigEndian.Uint64(v)) > now.UnixNano()
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("read callback: %w", err)
	}
	return found, nil
}
