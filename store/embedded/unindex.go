package embedded

import (
	"bytes"
	"context"
	"fmt"
)

// An incident of a storm holds 100,000 alerts, and its close takes each
// out of the alert index. In the commit that closes it, that would hold
// the writer, and every urgent write behind it, for 80 ms: so the commit
// only keeps the unindexing owed, and writes of their own take the
// alerts out, unindexChunk at a time, with urgent writes going first
// between them. An incident of at most unindexChunk alerts is unindexed
// by the commit that closes it.

// bucketUnindex: incidentKey(id) → group key, 0, the last alert key
// unindexed ("" before the first), for each closed incident whose alerts
// are still to leave the index.
var bucketUnindex = []byte("unindex")

// unindexChunk is how many alerts a write takes out of the index.
const unindexChunk = 1000

// oweUnindex keeps the unindexing of incident id, closed by a commit of
// group, owed.
func oweUnindex(tx *txn, group, id string) error {
	if err := tx.Bucket(bucketUnindex).Put(incidentKey(id), append([]byte(group), 0)); err != nil {
		return fmt.Errorf("keep the unindexing of incident %s owed: %w", id, err)
	}
	return nil
}

// Unindex takes out of the alert index the alerts of the closed incidents
// whose unindexing a commit left owed: a process stopped, or a write that
// failed, before the writes that follow the commit were all made. The
// commit's own caller does this (pending.Wait); ingest's sweep calls it
// for the rest.
func (s *Store) Unindex(ctx context.Context) error {
	var owed []string
	if err := s.view(func(tx *txn) error {
		return tx.Bucket(bucketUnindex).ForEach(func(k, _ []byte) error {
			if len(k) > 0 && int(k[0]) == len(k)-1 {
				owed = append(owed, string(k[1:]))
			}
			return nil
		})
	}); err != nil {
		return fmt.Errorf("read the unindexing owed: %w", err)
	}
	for _, id := range owed {
		if err := s.unindexOwed(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// unindexOwed takes the alerts of incident id out of the index, a write
// of unindexChunk at a time, until none is owed.
func (s *Store) unindexOwed(ctx context.Context, id string) error {
	for {
		var done bool
		err := s.w.do(ctx, false, noGroup, func(tx *txn) (err error) {
			done, err = unindexSome(tx, id)
			return err
		})
		if err != nil {
			return fmt.Errorf("unindex the alerts of incident %s: %w", id, err)
		}
		if done {
			return nil
		}
	}
}

// unindexSome takes up to unindexChunk alerts of incident id out of the
// index, where the unindexing is owed, and says whether none is owed
// since. An alert leaves only if its entry names the group that closed
// the incident, and the group's open incident, if any, does not hold it:
// it may have moved to another group, or fired again in the group's next
// incident, since.
func unindexSome(tx *txn, id string) (done bool, err error) {
	owed := tx.Bucket(bucketUnindex)
	ik := incidentKey(id)
	v := owed.Get(ik)
	if v == nil {
		return true, nil
	}
	i := bytes.IndexByte(v, 0)
	if i < 0 {
		return true, owed.Delete(ik) // not a value oweUnindex wrote
	}
	group, last := string(v[:i]), v[i+1:]
	_, open := getGroup(tx, group)
	var held []byte
	if open != "" {
		held = incidentKey(open)
	}
	last, done, err = unindexFrom(tx, group, ik, last, held, unindexChunk)
	if err != nil {
		return false, err
	}
	if !done {
		if err := owed.Put(ik, append(append([]byte(group), 0), last...)); err != nil {
			return false, fmt.Errorf("keep the unindexing owed: %w", err)
		}
		return false, nil
	}
	if err := owed.Delete(ik); err != nil {
		return false, fmt.Errorf("settle the unindexing: %w", err)
	}
	return true, nil
}

// unindexFrom takes out of the index the alerts of the incident whose key
// is ik, in key order after the alert key after ("" from the first), each
// only if its entry names group and the incident whose key is held, when
// not nil, does not hold it. With limit > 0 it stops once it looked at
// limit alerts, and returns the last it looked at and that it is not
// done.
func unindexFrom(tx *txn, group string, ik, after, held []byte, limit int) (last []byte, done bool, err error) {
	index, seen := tx.Bucket(bucketAlerts), tx.Bucket(bucketAlertSeen)
	c := seen.Cursor()
	k, _ := c.Seek(append(ik[:len(ik):len(ik)], after...))
	if len(after) > 0 && k != nil && bytes.Equal(k[len(ik):], after) {
		k, _ = c.Next()
	}
	last = after
	for n := 0; k != nil && bytes.HasPrefix(k, ik); k, _ = c.Next() {
		if n == limit && limit > 0 {
			return last, false, nil
		}
		n++
		key := k[len(ik):]
		last = key
		if string(index.Get(key)) != group || (held != nil && seen.Get(append(held[:len(held):len(held)], key...)) != nil) {
			continue
		}
		if err := index.Delete(key); err != nil {
			return last, false, fmt.Errorf("unindex alert %s: %w", key, err)
		}
	}
	return last, true, nil
}
