package embedded

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// TestLayersReadAsOne: puts, deletes and sequences written into a layer,
// frozen, and committed to the file at random, read back through a txn
// (Get, Sequence, and cursors each way, from every key and between them)
// as one map that took every write in turn.
func TestLayersReadAsOne(t *testing.T) {
	name := []byte("b")
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), 0o600, nil)
			require.NoError(t, err)
			defer func() { _ = db.Close() }()

			want := map[string]string{} // every write in turn
			var seq uint64
			mem, frozen := newLayer(), (*layer)(nil)
			n := 40 + 160*int(seed%2) // the odd seeds' cursors pass several runs
			key := func() []byte { return fmt.Appendf(nil, "k%03d", rng.IntN(n)) }
			read := func(fn func(b *bucket)) {
				require.NoError(t, db.View(func(tx *bolt.Tx) error {
					b := (&txn{tx: tx, mem: mem, frozen: frozen}).Bucket(name)
					if b == nil {
						require.Empty(t, want)
						return nil
					}
					fn(b)
					return nil
				}))
			}
			for step := range 600 {
				// A layer is frozen, and committed, one step in ten; on
				// the odd seeds one in a hundred, so that it takes a
				// hundred writes and more.
				rare := 10 - 9*int(seed%2)
				switch op := rng.IntN(100); {
				case op < rare && frozen == nil:
					frozen, mem = mem, newLayer()
				case op < 2*rare && frozen != nil:
					require.NoError(t, db.Update(commitAll(frozen)))
					frozen = nil
				case op < 55:
					k, v := key(), fmt.Appendf(nil, "v%d", step)
					if rng.IntN(10) == 0 { // past the arena's small ones
						v = append(v, bytes.Repeat([]byte{'x'}, arenaChunk/4+rng.IntN(100))...)
					}
					writeLayer(t, db, mem, frozen, func(b *bucket) error { return b.Put(k, v) })
					want[string(k)] = string(v)
				case op < 90:
					k := key()
					writeLayer(t, db, mem, frozen, func(b *bucket) error { return b.Delete(k) })
					delete(want, string(k))
				default:
					writeLayer(t, db, mem, frozen, func(b *bucket) error {
						n, err := b.NextSequence()
						seq = n
						return err
					})
				}
				keys := make([]string, 0, len(want))
				for k := range want {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				read(func(b *bucket) {
					require.Equal(t, seq, b.Sequence(), "step %d", step)
					for i := range n {
						k := fmt.Sprintf("k%03d", i)
						v, ok := want[k]
						got := b.Get([]byte(k))
						require.Equal(t, ok, got != nil, "step %d: key %s", step, k)
						require.Equal(t, v, string(got), "step %d: key %s", step, k)
					}
					require.Equal(t, keys, walk(b.Cursor(), true), "step %d: first to last", step)
					require.Equal(t, reversed(keys), walk(b.Cursor(), false), "step %d: last to first", step)
					for i := range n + 1 {
						// Between keys, and at them.
						at := []byte(fmt.Sprintf("k%03d", i))
						for _, seek := range [][]byte{at, append(bytes.Clone(at[:3]), at[3]-1, '~')} {
							c := b.Cursor()
							got, _ := c.Seek(seek)
							j, _ := slices.BinarySearch(keys, string(seek))
							if j == len(keys) {
								require.Nil(t, got, "step %d: seek %s", step, seek)
								continue
							}
							require.Equal(t, keys[j], string(got), "step %d: seek %s", step, seek)
							prev, _ := c.Prev()
							if j == 0 {
								require.Nil(t, prev, "step %d: before %s", step, got)
							} else {
								require.Equal(t, keys[j-1], string(prev), "step %d: before %s", step, got)
							}
						}
					}
				})
			}
		})
	}
}

// writeLayer runs fn on the bucket of a txn that writes into mem.
func writeLayer(t *testing.T, db *bolt.DB, mem, frozen *layer, fn func(b *bucket) error) {
	t.Helper()
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		b, err := (&txn{tx: tx, mem: mem, frozen: frozen}).CreateBucketIfNotExists([]byte("b"))
		if err != nil {
			return err
		}
		return fn(b)
	}))
}

// walk returns every key c passes, first to last or last to first.
func walk(c *cursor, forward bool) []string {
	keys := []string{}
	k, _ := c.Last()
	if forward {
		k, _ = c.First()
	}
	for ; k != nil; k, _ = step(c, forward) {
		keys = append(keys, string(k))
	}
	return keys
}

func step(c *cursor, forward bool) ([]byte, []byte) {
	if forward {
		return c.Next()
	}
	return c.Prev()
}

func reversed(s []string) []string {
	s = slices.Clone(s)
	slices.Reverse(s)
	return s
}

// TestBucketHandlesShareWrites: a handle of a bucket taken before another
// handle of it writes reads what that one wrote.
func TestBucketHandlesShareWrites(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), 0o600, nil)
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	name := []byte("b")
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket(name)
		return err
	}))
	mem := newLayer()
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		t := &txn{tx: tx, mem: mem}
		early, late := t.Bucket(name), t.Bucket(name)
		if err := late.Put([]byte("k"), []byte("v")); err != nil {
			return err
		}
		if err := late.SetSequence(7); err != nil {
			return err
		}
		if string(early.Get([]byte("k"))) != "v" || early.Sequence() != 7 {
			return fmt.Errorf("the early handle reads %q and sequence %d", early.Get([]byte("k")), early.Sequence())
		}
		if k, _ := early.Cursor().First(); string(k) != "k" {
			return fmt.Errorf("the early handle's cursor finds %q", k)
		}
		return nil
	}))
}

// TestCursorPassesDeletes: a cursor passes a run of keys a layer deleted,
// longer than a run of its steps, both ways, to the live keys beyond.
func TestCursorPassesDeletes(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), 0o600, nil)
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	key := func(i int) []byte { return fmt.Appendf(nil, "k%03d", i) }
	file := newLayer()
	for i := range 150 {
		writeLayer(t, db, file, nil, func(b *bucket) error { return b.Put(key(i), []byte("v")) })
	}
	require.NoError(t, db.Update(commitAll(file)))
	frozen, mem := newLayer(), newLayer()
	for i := range 100 { // the first hundred, from both layers
		l := frozen
		if i%3 == 0 {
			l = mem
		}
		writeLayer(t, db, l, nil, func(b *bucket) error { return b.Delete(key(i)) })
	}
	for i := 120; i < 150; i++ { // and the last thirty, from mem
		writeLayer(t, db, mem, frozen, func(b *bucket) error { return b.Delete(key(i)) })
	}
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		c := (&txn{tx: tx, mem: mem, frozen: frozen}).Bucket([]byte("b")).Cursor()
		k, _ := c.First()
		require.Equal(t, "k100", string(k))
		k, _ = c.Prev()
		require.Nil(t, k)
		k, _ = c.Seek(key(5))
		require.Equal(t, "k100", string(k))
		k, _ = c.Last()
		require.Equal(t, "k119", string(k))
		k, _ = c.Next()
		require.Nil(t, k)
		require.Len(t, walk(c, true), 20)
		return nil
	}))
}

// commitAll writes l into a transaction, all of it, as a checkpoint does
// in one.
func commitAll(l *layer) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error { return l.commitTo(tx, 0, nil) }
}
