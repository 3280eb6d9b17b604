package embedded

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// txn is a bbolt transaction whose writes are also recorded, as the
// operations the log replays (log.go): a write is durable once its
// record is in the log, long before the transaction that holds it is
// committed to the file. A txn with no record writes the file only (at
// open, and in the log's replay).
type txn struct {
	tx  *bolt.Tx
	rec *record
	// batch numbers the batch the transaction runs for now: the log
	// position its record takes.
	batch uint64
	// timelines, when not nil, holds how many events the timelines of
	// incidents (by key) have, as the transaction holds them: a commit
	// appends to its incident's timeline without seeking its end (see
	// timelines).
	timelines timelines
}

// timelines counts the events of incidents' timelines, by incident key,
// as one open transaction and those committed before it hold them. Only
// the writer appends to a timeline, so the counts stay true until the
// transaction is rolled back, when they are dropped with it.
type timelines map[string]uint64

// maxTimelines bounds the incidents whose timelines the writer counts: past
// it, the counts start again from the file.
const maxTimelines = 1 << 16

// eventCount is how many events the timeline of the incident with key
// incKey holds.
func (t *txn) eventCount(b *bucket, incKey []byte) uint64 {
	if n, ok := t.timelines[string(incKey)]; ok {
		return n
	}
	return eventCount(b, incKey)
}

// appended notes that the timeline of the incident with key incKey now
// holds n events.
func (t *txn) appended(incKey []byte, n uint64) {
	if t.timelines == nil {
		return
	}
	if len(t.timelines) >= maxTimelines {
		clear(t.timelines)
	}
	t.timelines[string(incKey)] = n
}

// bucket is a bucket of a txn.
type bucket struct {
	b    *bolt.Bucket
	name []byte
	rec  *record
}

// Bucket returns the top-level bucket name, or nil if there is none.
func (t *txn) Bucket(name []byte) *bucket {
	b := t.tx.Bucket(name)
	if b == nil {
		return nil
	}
	return &bucket{b: b, name: name, rec: t.rec}
}

// CreateBucketIfNotExists returns the top-level bucket name, created if
// need be.
func (t *txn) CreateBucketIfNotExists(name []byte) (*bucket, error) {
	if b := t.Bucket(name); b != nil {
		return b, nil
	}
	b, err := t.tx.CreateBucket(name)
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", name, err)
	}
	t.rec.create(name)
	return &bucket{b: b, name: name, rec: t.rec}, nil
}

// Get returns the value of key, valid until the transaction's next write
// or its end; nil if there is none.
func (b *bucket) Get(key []byte) []byte { return b.b.Get(key) }

// Put sets key to value. Neither may change until the transaction ends.
func (b *bucket) Put(key, value []byte) error {
	if err := b.b.Put(key, value); err != nil {
		return err
	}
	b.rec.put(b.name, key, value)
	return nil
}

// Delete removes key, if it is there.
func (b *bucket) Delete(key []byte) error {
	if err := b.b.Delete(key); err != nil {
		return err
	}
	b.rec.delete(b.name, key)
	return nil
}

// Sequence returns the bucket's sequence number.
func (b *bucket) Sequence() uint64 { return b.b.Sequence() }

// SetSequence sets the bucket's sequence number.
func (b *bucket) SetSequence(n uint64) error {
	if err := b.b.SetSequence(n); err != nil {
		return err
	}
	b.rec.sequence(b.name, n)
	return nil
}

// NextSequence increments the bucket's sequence number and returns it.
func (b *bucket) NextSequence() (uint64, error) {
	n, err := b.b.NextSequence()
	if err != nil {
		return 0, err
	}
	b.rec.sequence(b.name, n)
	return n, nil
}

// ForEach calls fn for each key and value in order; fn must not write
// the bucket.
func (b *bucket) ForEach(fn func(k, v []byte) error) error { return b.b.ForEach(fn) }

// Cursor walks the bucket in key order. It reads only: a walk that
// deletes collects keys and deletes them through the bucket.
func (b *bucket) Cursor() *bolt.Cursor { return b.b.Cursor() }
