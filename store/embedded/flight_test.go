package embedded

import (
	"context"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/storetest"
)

// holdSync makes the syncer hold the next frame it writes, before its
// fdatasync: entered is closed once it does, and release then lets the
// fdatasync go on (nil) or fails the append with its error. Only the
// first release counts: a test defers release(nil), so that a test that
// fails while the frame is held still closes its store.
func holdSync(s *Store) (entered <-chan struct{}, release func(error)) {
	in, gate := make(chan struct{}), make(chan error, 1)
	s.w.log.syncFault = func() error { // the syncer's goroutine only
		s.w.log.syncFault = nil
		close(in)
		return <-gate
	}
	var once sync.Once
	return in, func(err error) { once.Do(func() { gate <- err }) }
}

// curWrites is how many writes the writer has run since the batch on its
// way to the log.
func curWrites(s *Store) int {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	return len(s.w.cur.batch)
}

// TestNextBatchRunsWhileOneSyncs: while a batch's frame is on its way to
// the log, the writer runs the writes that arrive, as the next batch. That
// one is answered once its own frame is durable, after the first.
func TestNextBatchRunsWhileOneSyncs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := Open(path)
	require.NoError(t, err)
	defer s.Close()
	ctx := t.Context()
	var landed []string // the writer's goroutine only
	entered, release := holdSync(s)
	defer release(nil)
	first, err := s.w.queue(ctx, false, "", func(tx *txn) error {
		return tx.Bucket(bucketMeta).Put([]byte("first"), []byte{1})
	}, nil, func() { landed = append(landed, "first") })
	require.NoError(t, err)
	<-entered
	_, firstPos := logEnd(t, path) // its frame is written, not yet synced

	ran := make(chan uint64, 1)
	second, err := s.w.queue(ctx, false, "", func(tx *txn) error {
		ran <- tx.batch
		return tx.Bucket(bucketMeta).Put([]byte("second"), []byte{1})
	}, nil, func() { landed = append(landed, "second") })
	require.NoError(t, err)
	var pos uint64
	select {
	case pos = <-ran: // while the first's fdatasync is held
	case <-time.After(testTimeout):
		t.Fatal("the next batch did not run while the first was on its way")
	}
	require.Equal(t, firstPos+1, pos, "the batch after the one on its way")

	release(nil)
	require.NoError(t, s.w.wait(first))
	require.NoError(t, s.w.wait(second))
	_, last := logEnd(t, path)
	require.Equal(t, pos, last, "answered once its frame is in the log")
	require.Equal(t, []string{"first", "second"}, landed)
}

// TestNextBatchRunsAgainAfterFailedSync: when the batch on its way cannot
// be made durable, the writes that ran after it, on what it wrote, run
// again without it: a commit chained to it is refused, another lands, and
// a read of what the next batch writes waits until it is durable.
func TestNextBatchRunsAgainAfterFailedSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := Open(path)
	require.NoError(t, err)
	ctx := t.Context()
	c := storetest.NewIncidentCommit(1, logNow)
	entered, release := holdSync(s)
	defer release(nil)
	first, err := s.Queue(ctx, c, nil)
	require.NoError(t, err)
	<-entered

	next := c
	next.Version, next.Incidents, next.Index, next.Timers = 1, nil, []string{"am/1-9"}, nil
	chained, err := s.Queue(ctx, next, first)
	require.NoError(t, err)
	c2 := storetest.NewIncidentCommit(2, logNow)
	other, err := s.Queue(ctx, c2, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return curWrites(s) == 2 }, testTimeout, tick, "both ran while the first is on its way")

	read := make(chan error, 1)
	go func() {
		_, err := s.Incident(context.Background(), c2.Open)
		read <- err
	}()
	require.Eventually(t, func() bool { return s.w.waits.Load() == 1 }, testTimeout, tick, "the read waits for the next batch")

	release(syscall.EIO)
	require.ErrorIs(t, first.Wait(), syscall.EIO)
	require.ErrorIs(t, chained.Wait(), klaxon.ErrConflict, "dropped with the commit it follows")
	require.NoError(t, other.Wait())
	require.NoError(t, <-read, "it reads the other's incident, once durable")

	failCheckpoints(s, syscall.EIO) // a crash: the log alone holds the writes
	require.Error(t, s.Close())
	s, err = Open(path)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Incident(ctx, c.Open)
	require.ErrorIs(t, err, klaxon.ErrNotFound, "the failed batch does not come back")
	g, err := s.Group(ctx, c.Group, nil)
	require.NoError(t, err)
	require.Zero(t, g.Version, "nor the commit chained to it")
	_, err = s.Incident(ctx, c2.Open)
	require.NoError(t, err, "the other commit is in the log")
}
