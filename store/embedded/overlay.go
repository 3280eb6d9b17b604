package embedded

import (
	"bytes"
	"hash/maphash"
	"slices"

	"github.com/google/btree"
	bolt "go.etcd.io/bbolt"
)

// A layer holds writes the file does not have yet, by bucket. The writer
// writes into one (mem) between checkpoints; a checkpoint freezes it, and
// a goroutine of its own commits the frozen layer to the file while the
// writer fills a new one. A read looks in mem, then in the frozen layer,
// then in the file: the writer never waits for the file's commit, and a
// key written again before a checkpoint costs a map's write, where a Put
// to bbolt's open transaction searches a tree whose pages grow with the
// storm until the commit splits them. The checkpoint hands bbolt each
// bucket's keys once, in order.
//
// A layer is changed by the writer alone, with its mu held; a frozen one
// changes no more. Keys and values are copies: what a caller put may be
// a slice of the file's mapping, valid only while its read lasts.
type layer struct {
	buckets map[string]*layerBucket
	arena   arena
}

// layerBucket is a bucket's writes in a layer: created says the layer
// created it; seq, when hasSeq, is its sequence. Nothing in its index
// and entries is a pointer, so that the garbage collector, which a
// storm keeps busy, has nothing in a layer to scan but the arena's
// chunks.
type layerBucket struct {
	created bool
	hasSeq  bool
	seq     uint64
	// index holds, by the hash of a key, the last entry whose key has
	// that hash; each entry holds the one before (prev).
	index   map[uint64]int32
	entries []entry
	// order holds the entries in key order, kept as they come. Built at
	// a bucket's first cursor instead, it cost a storm's single events
	// spread over 1,000 groups 5 % less CPU, but ordering 100,000 keys
	// held the writer, and the engine's writes, for 17 ms
	// (BenchCloseStorm's probe; 1 ms kept as they come). probe is the key
	// its searches compare with, as entry -1.
	order *btree.BTreeG[int32]
	probe []byte
	arena *arena
}

// entry is a key's last write in a layer: its value, or a delete.
type entry struct {
	key, value span
	prev       int32 // the entry before with the same hash, -1 for none
	deleted    bool
}

// span is where bytes are in an arena.
type span struct {
	chunk, off, len uint32
}

// arena holds the keys and values a layer took, in chunks: a storm's
// writes are many small ones, which the garbage collector marks as one
// chunk each rather than one by one. A value written again leaves its
// old bytes in the chunk until the layer is dropped: a layer takes what
// its log file takes.
type arena struct {
	chunks [][]byte
}

// arenaChunk is the size of an arena's chunks; bytes past a quarter of
// it take a chunk of their own.
const arenaChunk = 64 << 10

// put copies b into the arena.
func (a *arena) put(b []byte) span {
	if len(b) > arenaChunk/4 {
		a.chunks = append(a.chunks, append(make([]byte, 0, len(b)), b...)) // full: the next small ones take a new chunk
		return span{chunk: uint32(len(a.chunks) - 1), len: uint32(len(b))}
	}
	last := len(a.chunks) - 1
	if last < 0 || len(b) > cap(a.chunks[last])-len(a.chunks[last]) {
		a.chunks = append(a.chunks, make([]byte, 0, arenaChunk))
		last++
	}
	c := a.chunks[last]
	a.chunks[last] = append(c, b...)
	return span{chunk: uint32(last), off: uint32(len(c)), len: uint32(len(b))}
}

// bytes returns the bytes at s, never nil.
func (a *arena) bytes(s span) []byte {
	end := s.off + s.len
	return a.chunks[s.chunk][s.off:end:end]
}

// orderDegree is the degree of a layer's ordered index.
const orderDegree = 32

// seed seeds the hashes of layers' keys.
var seed = maphash.MakeSeed()

func newLayer() *layer { return &layer{buckets: make(map[string]*layerBucket)} }

// sized returns a new layer whose buckets have room for as many keys as
// l's: a storm's next layer takes about as many, and its maps and
// entries then grow no more.
func (l *layer) sized() *layer {
	n := newLayer()
	for name, lb := range l.buckets {
		nb := n.bucket([]byte(name))
		nb.index = make(map[uint64]int32, len(lb.entries))
		nb.entries = make([]entry, 0, len(lb.entries))
	}
	return n
}

// empty reports whether l holds no write.
func (l *layer) empty() bool {
	if l == nil {
		return true
	}
	for _, lb := range l.buckets {
		if len(lb.entries) > 0 || lb.hasSeq || lb.created {
			return false
		}
	}
	return true
}

// of returns bucket name's writes in l; nil if it has none, or l is nil.
func (l *layer) of(name []byte) *layerBucket {
	if l == nil {
		return nil
	}
	return l.buckets[string(name)]
}

// bucket returns bucket name's writes in l, made if need be.
func (l *layer) bucket(name []byte) *layerBucket {
	lb := l.buckets[string(name)]
	if lb == nil {
		lb = &layerBucket{index: make(map[uint64]int32), arena: &l.arena}
		lb.order = btree.NewG(orderDegree, func(a, b int32) bool { return bytes.Compare(lb.key(a), lb.key(b)) < 0 })
		l.buckets[string(name)] = lb
	}
	return lb
}

// key returns the key of entry i; the probe for -1.
func (lb *layerBucket) key(i int32) []byte {
	if i < 0 {
		return lb.probe
	}
	return lb.arena.bytes(lb.entries[i].key)
}

// find returns the entry of key, and the hash of key; -1 if lb has none.
func (lb *layerBucket) find(key []byte) (int32, uint64) {
	h := maphash.Bytes(seed, key)
	i, ok := lb.index[h]
	if !ok {
		return -1, h
	}
	for ; i >= 0; i = lb.entries[i].prev {
		if bytes.Equal(lb.key(i), key) {
			return i, h
		}
	}
	return -1, h
}

// get returns key's value in lb, or that lb deleted it; ok says whether
// lb has either.
func (lb *layerBucket) get(key []byte) (value []byte, deleted, ok bool) {
	if lb == nil || len(lb.entries) == 0 {
		return nil, false, false
	}
	i, _ := lb.find(key)
	if i < 0 {
		return nil, false, false
	}
	e := &lb.entries[i]
	if e.deleted {
		return nil, true, true
	}
	return lb.arena.bytes(e.value), false, true
}

// set writes key: to value, or, deleted, away.
func (lb *layerBucket) set(key, value []byte, deleted bool) {
	var v span
	if !deleted {
		v = lb.arena.put(value)
	}
	i, h := lb.find(key)
	if i >= 0 {
		lb.entries[i].value, lb.entries[i].deleted = v, deleted
		return
	}
	prev, ok := lb.index[h]
	if !ok {
		prev = -1
	}
	i = int32(len(lb.entries))
	lb.entries = append(lb.entries, entry{key: lb.arena.put(key), value: v, prev: prev, deleted: deleted})
	lb.index[h] = i
	lb.order.ReplaceOrInsert(i)
}

// commitTo writes l into tx, each bucket's keys in order. With next, it
// commits tx each time it has written about chunk bytes, and goes on in
// the transaction next begins: a bbolt commit holds in memory every page
// it writes, and a checkpoint of a storm's 16 MB, in one, took a storm's
// memory past Alertmanager's. A process that ends between them leaves
// the file with part of l; the log, replayed from the position the file
// keeps until the last, writes it all again, the same.
func (l *layer) commitTo(tx *bolt.Tx, chunk int, next func() (*bolt.Tx, error)) error {
	names := make([]string, 0, len(l.buckets))
	for name := range l.buckets {
		names = append(names, name)
	}
	slices.Sort(names)
	size := 0
	for _, name := range names {
		lb := l.buckets[name]
		if len(lb.entries) == 0 && !lb.hasSeq && !lb.created {
			continue
		}
		bucket := func() (*bolt.Bucket, error) {
			if b := tx.Bucket([]byte(name)); b != nil {
				return b, nil
			}
			return tx.CreateBucket([]byte(name))
		}
		b, err := bucket()
		if err != nil {
			return err
		}
		if lb.hasSeq {
			if err := b.SetSequence(lb.seq); err != nil {
				return err
			}
		}
		// In key order, which the layer keeps: bbolt's Put walks the
		// tree from its root, and keys in order find the pages the last
		// one brought in.
		order := make([]int32, 0, len(lb.entries))
		lb.order.Ascend(func(i int32) bool {
			order = append(order, i)
			return true
		})
		for _, i := range order {
			e := &lb.entries[i]
			if next != nil && size >= chunk {
				if err := tx.Commit(); err != nil {
					return err
				}
				if tx, err = next(); err != nil {
					return err
				}
				if b, err = bucket(); err != nil {
					return err
				}
				size = 0
			}
			if e.deleted {
				err = b.Delete(lb.key(i))
			} else {
				err = b.Put(lb.key(i), l.arena.bytes(e.value))
			}
			if err != nil {
				return err
			}
			size += int(e.key.len + e.value.len)
		}
	}
	return nil
}

// cursor walks a bucket in key order over its layers and the file: a key
// is what the first of mem, frozen and the file that has it says, and a
// delete in a layer hides the key below it. Each step seeks every source
// again from the key it stands on, so writes between steps are seen.
type cursor struct {
	b    *bucket
	file *bolt.Cursor // nil if the file has no such bucket
	key  []byte       // where it stands; nil before a first step or past the end
}

// First moves to the first key.
func (c *cursor) First() ([]byte, []byte) { return c.forward(nil, false) }

// Last moves to the last key.
func (c *cursor) Last() ([]byte, []byte) { return c.backward(nil) }

// Seek moves to the first key at or past key.
func (c *cursor) Seek(key []byte) ([]byte, []byte) {
	if key == nil {
		key = []byte{}
	}
	return c.forward(key, false)
}

// Next moves to the key after the one it stands on.
func (c *cursor) Next() ([]byte, []byte) {
	if c.key == nil {
		return nil, nil
	}
	return c.forward(c.key, true)
}

// Prev moves to the key before the one it stands on.
func (c *cursor) Prev() ([]byte, []byte) {
	if c.key == nil {
		return nil, nil
	}
	return c.backward(c.key)
}

// forward moves to the first live key at or past key (past it, if after).
// Each source is sought once, then stepped: a run of keys deleted in a
// layer (a storm's resolved incidents, its timers done) is passed over
// one by one, not sought again.
func (c *cursor) forward(key []byte, after bool) ([]byte, []byte) {
	mem, frozen := seekRun(c.b.inMem(), key, after, true), seekRun(c.b.frozen, key, after, true)
	var fk, fv []byte
	if c.file != nil {
		fk, fv = c.file.Seek(key)
		if after && fk != nil && bytes.Equal(fk, key) {
			fk, fv = c.file.Next()
		}
	}
	return c.merge(&mem, &frozen, fk, fv, 1, func() ([]byte, []byte) { return c.file.Next() })
}

// backward moves to the last live key before key; a nil key is past
// every key.
func (c *cursor) backward(key []byte) ([]byte, []byte) {
	mem, frozen := seekRun(c.b.inMem(), key, true, false), seekRun(c.b.frozen, key, true, false)
	var fk, fv []byte
	if c.file != nil {
		if key == nil {
			fk, fv = c.file.Last()
		} else if fk, _ = c.file.Seek(key); fk == nil {
			fk, fv = c.file.Last()
		} else {
			fk, fv = c.file.Prev()
		}
	}
	return c.merge(&mem, &frozen, fk, fv, -1, func() ([]byte, []byte) { return c.file.Prev() })
}

// merge moves to the first live key of the layers' runs and the file's
// cursor (on fk, fv; fileStep steps it), in the direction dir (1
// forward, -1 backward).
func (c *cursor) merge(mem, frozen *run, fk, fv []byte, dir int, fileStep func() ([]byte, []byte)) ([]byte, []byte) {
	for {
		best := fk
		for _, r := range []*run{mem, frozen} {
			if k := r.key(); k != nil && (best == nil || bytes.Compare(k, best)*dir < 0) {
				best = k
			}
		}
		if best == nil {
			c.key = nil
			return nil, nil
		}
		v, live := c.resolve(best, mem, frozen, fk, fv)
		if live {
			c.key = best
			return best, v
		}
		mem.passed(best)
		frozen.passed(best)
		if fk != nil && bytes.Equal(fk, best) {
			fk, fv = fileStep()
		}
	}
}

// resolve returns the value of key, which one of the sources stands on,
// from the first source that has it: mem, frozen, the file (fk, fv).
func (c *cursor) resolve(key []byte, mem, frozen *run, fk, fv []byte) ([]byte, bool) {
	for _, r := range []*run{mem, frozen} {
		if k := r.key(); k != nil && bytes.Equal(k, key) {
			e := &r.lb.entries[r.ids[r.at]]
			if e.deleted {
				return nil, false
			}
			return r.lb.arena.bytes(e.value), true
		}
		// A run stands on its layer's first key from the cursor's
		// place on, which best is not past: the layer has no key best.
	}
	return fv, fk != nil && bytes.Equal(fk, key)
}

// run steps through a layer bucket's entries in key order, either way,
// taking them a few at a time from its ordered index.
type run struct {
	lb      *layerBucket
	forward bool
	ids     []int32
	at      int
	more    bool // the index may hold more past the run
	size    int  // how many entries the next fill takes
}

// A run's first fill takes firstRun entries, most often all a step
// needs (a cursor's Next seeks anew); each next fill takes twice as
// many, up to runLen, for a run of deleted keys.
const firstRun, runLen = 2, 64

// seekRun returns a run of lb from key: forward, at or past key (past it,
// if after); else before key, from the end for a nil key.
func seekRun(lb *layerBucket, key []byte, after, forward bool) run {
	r := run{lb: lb, forward: forward, size: firstRun}
	if lb == nil || len(lb.entries) == 0 {
		return r
	}
	r.fill(key, after)
	return r
}

// fill takes the next r.size entries from key on (past it, if after).
func (r *run) fill(key []byte, after bool) {
	r.ids, r.at = r.ids[:0], 0
	lb := r.lb
	take := func(i int32) bool {
		if after && key != nil && bytes.Equal(lb.key(i), key) {
			return true
		}
		r.ids = append(r.ids, i)
		return len(r.ids) < r.size
	}
	lb.probe = key
	switch {
	case r.forward:
		lb.order.AscendGreaterOrEqual(-1, take)
	case key == nil:
		lb.order.Descend(take)
	default:
		lb.order.DescendLessOrEqual(-1, take)
	}
	lb.probe = nil
	r.more = len(r.ids) == r.size
	r.size = min(2*r.size, runLen)
}

// key returns the key the run stands on; nil past its end.
func (r *run) key() []byte {
	if r.at >= len(r.ids) {
		return nil
	}
	return r.lb.key(r.ids[r.at])
}

// passed steps the run past key, if it stands on it.
func (r *run) passed(key []byte) {
	k := r.key()
	if k == nil || !bytes.Equal(k, key) {
		return
	}
	r.at++
	if r.at == len(r.ids) && r.more {
		r.fill(k, true)
	}
}
