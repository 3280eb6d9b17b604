package embedded

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// txn reads the file, under the layers of writes it does not have yet,
// and writes into the writer's layer (see layer). Its writes are also
// recorded, as the operations the log replays (log.go): a write is
// durable once its record is in the log, long before a checkpoint
// commits it to the file. A txn with no record writes the file only (at
// open, and in the log's replay).
type txn struct {
	// tx is the file: a read transaction under the layers mem and
	// frozen (see layer), or, with mem nil, a write transaction that
	// writes go straight into (at open, and the checkpoint's).
	tx          *bolt.Tx
	mem, frozen *layer
	rec         *record
	// batch numbers the batch the transaction runs for now: the log
	// position its record takes.
	batch uint64
	// timelines, when not nil, holds how many events the timelines of
	// incidents (by key) have, as the transaction holds them: a commit
	// appends to its incident's timeline without seeking its end (see
	// timelines).
	timelines timelines
	// open holds the buckets taken so far: a read transaction's Bucket
	// searches the file's root each time. files, when not nil, holds
	// the file's buckets that tx opened, for the next txn on it.
	open  []*bucket
	files map[string]*bolt.Bucket
}

// fileBucket returns the file's bucket name; nil if it has none.
func (t *txn) fileBucket(name []byte) *bolt.Bucket {
	if t.files == nil {
		return t.tx.Bucket(name)
	}
	if b, ok := t.files[string(name)]; ok {
		return b
	}
	b := t.tx.Bucket(name)
	t.files[string(name)] = b
	return b
}

// timelines counts the events of incidents' timelines, by incident key,
// as the layers and the file hold them. Only the writer appends to a
// timeline, so the counts stay true until mem is rebuilt, when they are
// dropped with it.
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

// bucket is a bucket of a txn: the file's (nil if the file has none
// yet) under the layers' writes (see layer).
type bucket struct {
	name   []byte
	file   *bolt.Bucket
	layers *layer // where writes go; nil: into file, a write transaction
	// mem and frozen are the bucket's writes in the txn's layers; nil
	// while they have none.
	mem, frozen *layerBucket
	rec         *record
}

// Bucket returns the top-level bucket name, or nil if there is none.
func (t *txn) Bucket(name []byte) *bucket {
	for _, b := range t.open {
		if bytes.Equal(b.name, name) {
			return b
		}
	}
	b := &bucket{name: name, file: t.fileBucket(name), layers: t.mem, mem: t.mem.of(name), frozen: t.frozen.of(name), rec: t.rec}
	if b.file == nil && b.mem == nil && b.frozen == nil {
		return nil
	}
	t.open = append(t.open, b)
	return b
}

// CreateBucketIfNotExists returns the top-level bucket name, created if
// need be.
func (t *txn) CreateBucketIfNotExists(name []byte) (*bucket, error) {
	if b := t.Bucket(name); b != nil {
		return b, nil
	}
	b := &bucket{name: name, layers: t.mem, rec: t.rec}
	if t.mem != nil {
		b.mem = t.mem.bucket(name)
		b.mem.created = true
	} else {
		var err error
		if b.file, err = t.tx.CreateBucket(name); err != nil {
			return nil, fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	t.rec.create(name)
	t.open = append(t.open, b)
	return b, nil
}

// writable returns the bucket's writes in mem, made if need be.
func (b *bucket) writable() *layerBucket {
	if b.mem == nil {
		b.mem = b.layers.bucket(b.name)
	}
	return b.mem
}

// inMem returns the bucket's writes in mem; nil if there are none. Another
// handle of the bucket may have made them since this one was.
func (b *bucket) inMem() *layerBucket {
	if b.mem == nil {
		b.mem = b.layers.of(b.name)
	}
	return b.mem
}

// Get returns the value of key, valid until the transaction ends; nil if
// there is none.
func (b *bucket) Get(key []byte) []byte {
	for _, lb := range []*layerBucket{b.inMem(), b.frozen} {
		if v, deleted, ok := lb.get(key); ok {
			if deleted {
				return nil
			}
			return v
		}
	}
	if b.file == nil {
		return nil
	}
	return b.file.Get(key)
}

// Put sets key to value. Neither may change until the transaction ends.
func (b *bucket) Put(key, value []byte) error {
	if b.layers == nil {
		if err := b.file.Put(key, value); err != nil {
			return err
		}
	} else {
		if err := checkPut(key, value); err != nil {
			return err
		}
		b.writable().set(key, value, false)
	}
	b.rec.put(b.name, key, value)
	return nil
}

// Delete removes key, if it is there.
func (b *bucket) Delete(key []byte) error {
	if b.layers == nil {
		if err := b.file.Delete(key); err != nil {
			return err
		}
	} else {
		b.writable().set(key, nil, true)
	}
	b.rec.delete(b.name, key)
	return nil
}

// Sequence returns the bucket's sequence number.
func (b *bucket) Sequence() uint64 {
	for _, lb := range []*layerBucket{b.inMem(), b.frozen} {
		if lb != nil && lb.hasSeq {
			return lb.seq
		}
	}
	if b.file == nil {
		return 0
	}
	return b.file.Sequence()
}

// SetSequence sets the bucket's sequence number.
func (b *bucket) SetSequence(n uint64) error {
	if b.layers == nil {
		if err := b.file.SetSequence(n); err != nil {
			return err
		}
	} else {
		lb := b.writable()
		lb.seq, lb.hasSeq = n, true
	}
	b.rec.sequence(b.name, n)
	return nil
}

// NextSequence increments the bucket's sequence number and returns it.
func (b *bucket) NextSequence() (uint64, error) {
	n := b.Sequence() + 1
	if err := b.SetSequence(n); err != nil {
		return 0, err
	}
	return n, nil
}

// ForEach calls fn for each key and value in order; fn must not write
// the bucket.
func (b *bucket) ForEach(fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Cursor walks the bucket in key order. It reads only: a walk that
// deletes collects keys and deletes them through the bucket.
func (b *bucket) Cursor() *cursor {
	c := &cursor{b: b}
	if b.file != nil {
		c.file = b.file.Cursor()
	}
	return c
}

// checkPut refuses what bbolt's Put would, before the layer takes it:
// the checkpoint must not meet it.
func checkPut(key, value []byte) error {
	switch {
	case len(key) == 0:
		return berrors.ErrKeyRequired
	case len(key) > bolt.MaxKeySize:
		return berrors.ErrKeyTooLarge
	case int64(len(value)) > bolt.MaxValueSize:
		return berrors.ErrValueTooLarge
	}
	return nil
}
