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
	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon"
)

// How long a test waits for writes to queue, and how often it looks.
const testTimeout, tick = 10 * time.Second, time.Millisecond

// held opens a store whose writer is busy with a write that waits for
// release; it returns once that write runs.
func held(t *testing.T) (s *Store, release func()) {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	running, gate := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.update(context.Background(), false, func(*bolt.Tx) error {
			close(running)
			<-gate
			return nil
		})
	}()
	<-running
	return s, sync.OnceFunc(func() { close(gate) })
}

// TestWriterUrgentFirst: an urgent write queued behind a storm of others
// runs first in the next transaction.
func TestWriterUrgentFirst(t *testing.T) {
	s, release := held(t)
	var mu sync.Mutex
	var order []string
	write := func(name string) func(*bolt.Tx) error {
		return func(*bolt.Tx) error {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return nil
		}
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { require.NoError(t, s.update(t.Context(), false, write(fmt.Sprint("ingest", i)))) })
	}
	require.Eventually(t, func() bool { return len(s.w.normal) == 20 }, testTimeout, tick)
	wg.Go(func() { require.NoError(t, s.update(t.Context(), true, write("engine"))) })
	require.Eventually(t, func() bool { return len(s.w.urgent) == 1 }, testTimeout, tick)
	release()
	wg.Wait()
	require.Len(t, order, 21)
	require.Equal(t, "engine", order[0], "the urgent write goes first")
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

// TestWriterFailedBatchRetriesAlone: a write that fails the transaction
// (not a refusal) costs the others nothing: each is tried again alone.
func TestWriterFailedBatchRetriesAlone(t *testing.T) {
	s, release := held(t)
	ctx := t.Context()
	broken := errors.New("disk on fire")
	errs := make(chan error, 2)
	go func() { errs <- s.update(ctx, false, func(*bolt.Tx) error { return broken }) }()
	go func() { errs <- s.Commit(ctx, klaxon.Commit{Group: "a", Index: []string{"am/a"}}) }()
	require.Eventually(t, func() bool { return len(s.w.normal) == 2 }, testTimeout, tick)
	release()
	got := []error{<-errs, <-errs}
	require.Contains(t, got, nil)
	require.True(t, errors.Is(got[0], broken) || errors.Is(got[1], broken))
	groups, err := s.AlertGroups(ctx, []string{"am/a"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"am/a": "a"}, groups)
}

// TestWriterClosed: writes after Close fail, and Close waits for none.
func TestWriterClosed(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.update(t.Context(), false, func(*bolt.Tx) error { return nil }), errClosed)
}

// TestWriterUrgentJoinsBatch: an urgent write that arrives while a batch
// runs joins its transaction, and so its fsync, instead of waiting for the
// next one.
func TestWriterUrgentJoinsBatch(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	running, gate := make(chan struct{}), make(chan struct{})
	var batchTx, urgentTx int
	done := make(chan error, 1)
	go func() {
		done <- s.update(context.Background(), false, func(tx *bolt.Tx) error {
			batchTx = tx.ID()
			close(running)
			<-gate
			return nil
		})
	}()
	<-running
	urgent := make(chan error, 1)
	go func() {
		urgent <- s.update(t.Context(), true, func(tx *bolt.Tx) error { urgentTx = tx.ID(); return nil })
	}()
	require.Eventually(t, func() bool { return len(s.w.urgent) == 1 }, testTimeout, tick)
	close(gate)
	require.NoError(t, <-done)
	require.NoError(t, <-urgent)
	require.Equal(t, batchTx, urgentTx, "one transaction")
}
