package embedded

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// How long a test waits for writes to queue, and how often it looks.
const testTimeout, tick = 10 * time.Second, time.Millisecond

// held opens a store whose writer is busy with a write that waits for
// release; it returns once that write runs.
func held(t *testing.T) (s *Store, release func()) {
	t.Helper()
	s = openTemp(t)
	running, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go func() {
		_ = s.update(context.Background(), false, func(*txn) error {
			// Its batch runs again after a write of it that failed: it
			// holds the writer the first time only.
			once.Do(func() {
				close(running)
				<-gate
			})
			return nil
		})
	}()
	<-running
	return s, sync.OnceFunc(func() { close(gate) })
}

// TestWriterUrgentFirst: the writes that wait for the next transaction
// are gathered urgent ones first, whatever order they came in. (An urgent
// write that comes while a batch runs joins it: TestWriterUrgentJoinsBatch.)
func TestWriterUrgentFirst(t *testing.T) {
	w := &writer{urgent: make(chan *write, maxBatch), normal: make(chan *write, maxBatch)}
	named := map[*write]string{}
	queue := func(q chan *write, name string) *write {
		wr := &write{}
		named[wr] = name
		q <- wr
		return wr
	}
	first := &write{} // taken by run, as a storm's first write
	named[first] = "ingest0"
	for i := 1; i < 20; i++ {
		queue(w.normal, fmt.Sprint("ingest", i))
	}
	queue(w.urgent, "engine")
	var order []string
	for _, wr := range w.gather(first, maxBatch) {
		order = append(order, named[wr])
	}
	require.Len(t, order, 21)
	require.Equal(t, []string{"ingest0", "engine", "ingest1"}, order[:3], "after the one taken, the urgent write, then the others")
}

// TestWriterRefusalSparesTheBatch: a write refused (a conflict) fails
// alone; the writes that shared its transaction land.
func TestWriterRefusalSparesTheBatch(t *testing.T) {
	s, release := held(t)
	ctx := t.Context()
	errs := make(chan error, 3)
	for _, c := range []klaxon.Commit{
		{Group: "a", Index: []string{"am/a"}},
		{Group: "b", Version: 7, Index: []string{"am/b"}}, // stale: conflicts
		{Group: "c", Index: []string{"am/c"}},
	} {
		go func() { errs <- s.Commit(ctx, c) }()
	}
	require.Eventually(t, func() bool { return len(s.w.normal) == 3 }, testTimeout, tick)
	release()
	var conflicts, ok int
	for range 3 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, klaxon.ErrConflict):
			conflicts++
		default:
			t.Fatal(err)
		}
	}
	require.Equal(t, 2, ok)
	require.Equal(t, 1, conflicts)
	groups, err := s.AlertGroups(ctx, []string{"am/a", "am/b", "am/c"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"am/a": "a", "am/c": "c"}, groups)
}

// TestWriterClosed: writes after Close fail, as unavailable (a sender's
// 503: it may send again), and Close waits for none.
func TestWriterClosed(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	err = s.update(t.Context(), false, func(*txn) error { return nil })
	require.ErrorIs(t, err, errClosed)
	require.ErrorIs(t, err, klaxon.ErrUnavailable)
}

// TestWriterCloseAnswersEveryWrite: a write queued while the store
// closes is answered, written or refused, and never left waiting: the
// pipeline waits on Done. The writer is held with its queue full and
// more writes waiting to be queued when Close begins.
func TestWriterCloseAnswersEveryWrite(t *testing.T) {
	s, release := held(t)
	var wg sync.WaitGroup
	queued := make(chan *write, 1024)
	for range 8 {
		wg.Go(func() {
			for range 100 {
				wr, err := s.w.queue(t.Context(), false, "", func(*txn) error { return nil }, nil, nil)
				if err != nil {
					if !errors.Is(err, errClosed) {
						t.Errorf("queue: %v", err)
					}
					return
				}
				queued <- wr
			}
		})
	}
	require.Eventually(t, func() bool { return len(s.w.normal) == maxBatch }, testTimeout, tick)
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	release()
	require.NoError(t, <-closed)
	wg.Wait()
	close(queued)
	n := 0
	for wr := range queued {
		select {
		case <-wr.done:
			if wr.err != nil {
				require.ErrorIs(t, wr.err, errClosed)
			}
		case <-time.After(testTimeout):
			t.Fatal("a write queued as the store closed was never answered")
		}
		n++
	}
	require.GreaterOrEqual(t, n, maxBatch)
}

// TestWriterLandedExactly: landed runs for exactly the writes that
// applied, in the order they applied: through
// refusals, writes chained behind refused ones, urgent writes that join a
// batch, writes that fail after they wrote, and failed transactions
// whose writes are tried again alone. Each write, once answered, keeps
// nothing it followed.
func TestWriterLandedExactly(t *testing.T) {
	s, release := held(t)
	txs := 0
	s.w.fault = func([]byte) error { // the syncer's goroutine only
		if txs++; txs%3 == 0 {
			return errors.New("disk on fire")
		}
		return nil
	}
	var landed []int // the syncer's goroutine only
	const n = 600
	wrs := make([]*write, n)
	for i := range n {
		fn := func(tx *txn) error { return tx.Bucket(bucketMeta).Put([]byte("landed"), []byte{byte(i)}) }
		switch {
		case i%7 == 0:
			fn = func(*txn) error { return klaxon.ErrConflict }
		case i%11 == 5: // fails after it wrote: the rest run again without it
			fn = func(tx *txn) error {
				if err := tx.Bucket(bucketMeta).Put([]byte("landed"), []byte{byte(i)}); err != nil {
					return err
				}
				return errors.New("bad write")
			}
		}
		var after *write
		if i%2 == 1 {
			after = wrs[i-1]
		}
		urgent := i%10 == 4
		if urgent {
			after = nil
		}
		wr, err := s.w.queue(t.Context(), urgent, "", fn, after, func() { landed = append(landed, i) })
		require.NoError(t, err)
		wrs[i] = wr
		if i == maxBatch/2 {
			release()
		}
	}
	var applied []int
	for i, wr := range wrs {
		<-wr.done
		if wr.err == nil {
			applied = append(applied, i)
		}
	}
	require.Greater(t, txs, 2, "some transactions failed")
	require.NotEmpty(t, applied)
	require.ElementsMatch(t, applied, landed, "landed for exactly the writes that applied")
	for i, wr := range wrs {
		require.Nil(t, wr.after, "write %d, settled, keeps nothing it followed", i)
		if i%11 == 5 {
			require.Error(t, wr.err, "write %d fails, or is refused before it runs", i)
		}
	}
	// A group's writes are normal ones: among those, landed keeps their order.
	var normal []int
	for _, i := range landed {
		if i%10 != 4 {
			normal = append(normal, i)
		}
	}
	require.IsIncreasing(t, normal)
}

// TestWriterUrgentJoinsBatch: an urgent write that arrives while a batch
// runs joins its transaction, and so its fsync, instead of waiting for the
// next one.
func TestWriterUrgentJoinsBatch(t *testing.T) {
	s := openTemp(t)
	running, gate := make(chan struct{}), make(chan struct{})
	var batchTx, urgentTx uint64
	done := make(chan error, 1)
	go func() {
		done <- s.update(context.Background(), false, func(tx *txn) error {
			batchTx = tx.batch
			close(running)
			<-gate
			return nil
		})
	}()
	<-running
	urgent := make(chan error, 1)
	go func() {
		urgent <- s.update(t.Context(), true, func(tx *txn) error { urgentTx = tx.batch; return nil })
	}()
	require.Eventually(t, func() bool { return len(s.w.urgent) == 1 }, testTimeout, tick)
	close(gate)
	require.NoError(t, <-done)
	require.NoError(t, <-urgent)
	require.Equal(t, batchTx, urgentTx, "one transaction")
}

// TestQueueAfter: a commit queued after another applies only if that
// one did, in the same transaction or an earlier one, even where its
// version would match: an engine commit that took the group to the same
// version first must not let a commit computed on another state land.
func TestQueueAfter(t *testing.T) {
	inc := func(id, summary string) *klaxon.Incident {
		return &klaxon.Incident{ID: id, Group: "g", State: klaxon.StateTriggered, Summary: summary}
	}
	commit := func(version uint64, summary string) klaxon.Commit {
		return klaxon.Commit{Group: "g", Version: version, Open: "1", Incidents: []*klaxon.Incident{inc("1", summary)}}
	}
	summary := func(t *testing.T, s *Store) string {
		got, err := s.Incident(t.Context(), "1")
		require.NoError(t, err)
		return got.Summary
	}

	t.Run("both in one transaction", func(t *testing.T) {
		s, release := held(t)
		first, err := s.Queue(t.Context(), commit(0, "first"), nil, nil)
		require.NoError(t, err)
		second, err := s.Queue(t.Context(), commit(1, "second"), first, nil)
		require.NoError(t, err)
		release()
		require.NoError(t, first.Wait())
		require.NoError(t, second.Wait())
		require.Equal(t, "second", summary(t, s))
		require.Nil(t, second.(*pending).wr.after, "settled, it keeps nothing it followed")
	})

	t.Run("the first refused: the second too, though its version matches", func(t *testing.T) {
		s, release := held(t)
		ctx := t.Context()
		engine := make(chan error, 1)
		// The engine's commit comes first and takes the group to version 1.
		go func() {
			engine <- s.Commit(ctx, klaxon.Commit{Group: "g", Open: "1", Incidents: []*klaxon.Incident{inc("1", "engine")}, Urgent: true})
		}()
		require.Eventually(t, func() bool { return len(s.w.urgent) == 1 }, testTimeout, tick)
		first, err := s.Queue(ctx, commit(0, "first"), nil, nil)
		require.NoError(t, err)
		second, err := s.Queue(ctx, commit(1, "second"), first, nil)
		require.NoError(t, err)
		release()
		require.NoError(t, <-engine)
		require.ErrorIs(t, first.Wait(), klaxon.ErrConflict)
		require.ErrorIs(t, second.Wait(), klaxon.ErrConflict)
		require.Equal(t, "engine", summary(t, s))
	})

	t.Run("the batch of both cannot be made durable: both fail, and neither is read", func(t *testing.T) {
		s, release := held(t)
		ctx := t.Context()
		broken := errors.New("disk on fire")
		appends := 0
		s.w.fault = func([]byte) error { // the syncer's goroutine only
			appends++
			if appends == 1 { // the batch of both (the held write writes nothing)
				return broken
			}
			return nil
		}
		first, err := s.Queue(ctx, commit(0, "first"), nil, nil)
		require.NoError(t, err)
		second, err := s.Queue(ctx, commit(1, "second"), first, nil)
		require.NoError(t, err)
		release()
		require.ErrorIs(t, first.Wait(), broken)
		require.ErrorIs(t, second.Wait(), klaxon.ErrUnavailable)
		require.Nil(t, second.(*pending).wr.after, "settled, it keeps nothing it followed")
		_, err = s.Incident(ctx, "1")
		require.ErrorIs(t, err, klaxon.ErrNotFound, "the transaction was rebuilt without them")
		require.NoError(t, s.Commit(ctx, commit(0, "again")), "the sender's retry")
		require.Equal(t, "again", summary(t, s))
	})

	t.Run("the first's batch failed: the second, in a later batch, is refused", func(t *testing.T) {
		s, release := held(t)
		ctx := t.Context()
		broken := errors.New("disk on fire")
		s.w.fault = func([]byte) error { return broken }
		first, err := s.Queue(ctx, commit(0, "first"), nil, nil)
		require.NoError(t, err)
		release()
		require.ErrorIs(t, first.Wait(), broken)
		s.w.fault = nil // the writer waits for the next write
		second, err := s.Queue(ctx, commit(1, "second"), first, nil)
		require.NoError(t, err)
		require.ErrorIs(t, second.Wait(), klaxon.ErrConflict)
	})

	t.Run("after must be this store's, of the group, not urgent", func(t *testing.T) {
		s, release := held(t)
		release()
		first, err := s.Queue(t.Context(), commit(0, "first"), nil, nil)
		require.NoError(t, err)
		other := commit(1, "x")
		other.Group = "h"
		_, err = s.Queue(t.Context(), other, first, nil)
		require.ErrorIs(t, err, klaxon.ErrInvalid)
		require.NoError(t, first.Wait())
	})
}
