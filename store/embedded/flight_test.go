package embedded

import (
	"context"
	"errors"
	"os"
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

// putMeta writes key in the meta bucket.
func putMeta(key string) func(tx *txn) error {
	return func(tx *txn) error { return tx.Bucket(bucketMeta).Put([]byte(key), []byte{1}) }
}

// withLog opens a store whose log holds a batch, so that a rebuild of its
// transaction reads the log.
func withLog(t *testing.T) (s *Store, path string) {
	t.Helper()
	s, path = openWith(t, func(w *writer) { w.every = time.Hour })
	require.NoError(t, s.w.do(t.Context(), false, "", putMeta("a")))
	return s, path
}

// onItsWay queues a write of its own to s's meta bucket, and returns once
// the syncer holds its frame (see holdSync).
func onItsWay(t *testing.T, s *Store) (x *write, release func(error)) {
	t.Helper()
	entered, release := holdSync(s)
	x, err := s.w.queue(t.Context(), false, "x", putMeta("x"), nil, nil)
	require.NoError(t, err)
	<-entered
	return x, release
}

// readVersion reads group's version on a goroutine of its own, and
// returns once the read waits for a batch or has its answer.
func readVersion(t *testing.T, s *Store, group string) <-chan uint64 {
	t.Helper()
	read := make(chan uint64, 1)
	go func() {
		g, _ := s.Group(context.Background(), group, nil)
		read <- g.Version
	}()
	require.Eventually(t, func() bool { return len(read) == 1 || s.w.waits.Load() == 1 }, testTimeout, tick)
	return read
}

// damageOnSync makes the syncer's next fdatasync fail, and the log read
// back damaged from then on (a media error). With entered, the syncer
// closes it and waits for gate first.
func damageOnSync(s *Store, path string, entered, gate chan struct{}) {
	s.w.log.syncFault = func() error { // the syncer's goroutine only
		s.w.log.syncFault = nil
		if entered != nil {
			close(entered)
			<-gate
		}
		f, err := os.OpenFile(path+"-wal", os.O_WRONLY, 0)
		if err == nil {
			_, _ = f.WriteAt(make([]byte, frameHeader), 0)
			_ = f.Close()
		}
		return syscall.EIO
	}
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
	var landed []string // the syncer's goroutine only
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
	first, err := s.Queue(ctx, c, nil, nil)
	require.NoError(t, err)
	<-entered

	next := c
	next.Version, next.Incidents, next.Index, next.Timers = 1, nil, []string{"am/1-9"}, nil
	chained, err := s.Queue(ctx, next, first, nil)
	require.NoError(t, err)
	c2 := storetest.NewIncidentCommit(2, logNow)
	other, err := s.Queue(ctx, c2, nil, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return curWrites(s) == 2 }, testTimeout, tick, "both ran while the first is on its way")

	read := make(chan uint64, 1)
	go func() {
		g, _ := s.Group(context.Background(), c2.Group, nil) // written by the next batch only
		read <- g.Version
	}()
	require.Eventually(t, func() bool { return s.w.waits.Load() == 1 }, testTimeout, tick, "the read waits for the next batch")

	release(syscall.EIO)
	require.ErrorIs(t, first.Wait(), syscall.EIO)
	require.ErrorIs(t, chained.Wait(), klaxon.ErrConflict, "dropped with the commit it follows")
	require.NoError(t, other.Wait())
	require.Equal(t, uint64(1), <-read, "it reads the other's commit, run again and durable")

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

// TestReadWaitsForNextBatch: a read of a group that only the next batch
// wrote, while the batch before it is on its way, waits for the next
// batch's frame to be durable.
func TestReadWaitsForNextBatch(t *testing.T) {
	s := openTemp(t)
	x, release := onItsWay(t, s)
	defer release(nil)
	y, err := s.w.queue(t.Context(), false, "g", func(tx *txn) error { return putGroup(tx, "g", 1, "") }, nil, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return curWrites(s) == 1 }, testTimeout, tick)

	read := readVersion(t, s, "g")
	require.Empty(t, read, "the read saw the next batch's write before its frame was durable")
	release(nil)
	require.NoError(t, s.w.wait(x))
	require.NoError(t, s.w.wait(y))
	require.Equal(t, uint64(1), <-read)
}

// TestFailedWriteUnseenWhileOneSyncs: a write that fails after it wrote,
// while a batch is on its way, leaves what it wrote in the transaction
// until the writer rebuilds it, once that batch is durable: meanwhile a
// read waits, and then finds none of it.
func TestFailedWriteUnseenWhileOneSyncs(t *testing.T) {
	s := openTemp(t)
	x, release := onItsWay(t, s)
	defer release(nil)
	bad, err := s.w.queue(t.Context(), false, "g", func(tx *txn) error {
		if err := putGroup(tx, "g", 7, ""); err != nil {
			return err
		}
		return errors.New("half written")
	}, nil, nil)
	require.NoError(t, err)
	require.ErrorIs(t, s.w.wait(bad), klaxon.ErrUnavailable)

	read := readVersion(t, s, "g")
	require.Empty(t, read, "the read saw what a failed write wrote")
	release(nil)
	require.NoError(t, s.w.wait(x))
	require.Zero(t, <-read, "the group as the failed write found it")
}

// TestReadOfDroppedBatchGoesOn: a read that waits for the next batch goes
// on when that batch is dropped without a frame: here the batch before
// it fails, and the log it would be rebuilt from reads back damaged.
func TestReadOfDroppedBatchGoesOn(t *testing.T) {
	s, path := withLog(t)
	ctx := t.Context()
	entered, gate := make(chan struct{}), make(chan struct{})
	damageOnSync(s, path, entered, gate)
	release := sync.OnceFunc(func() { close(gate) })
	defer release()
	x, err := s.w.queue(ctx, false, "x", putMeta("x"), nil, nil)
	require.NoError(t, err)
	<-entered
	y, err := s.w.queue(ctx, false, "g", func(tx *txn) error { return putGroup(tx, "g", 1, "") }, nil, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return curWrites(s) == 1 }, testTimeout, tick)
	read := make(chan error, 1)
	go func() {
		_, err := s.Group(context.Background(), "g", nil)
		read <- err
	}()
	require.Eventually(t, func() bool { return s.w.waits.Load() == 1 }, testTimeout, tick, "the read waits for the next batch")
	release()
	require.ErrorIs(t, s.w.wait(x), syscall.EIO)
	require.ErrorIs(t, s.w.wait(y), klaxon.ErrUnavailable)
	select {
	case err := <-read:
		require.ErrorIs(t, err, klaxon.ErrUnavailable, "the store cannot read its log")
	case <-time.After(testTimeout):
		t.Fatal("the read waiting for the dropped batch was never woken")
	}
}

// TestReadWhileBroken: reads of a store whose log reads back damaged are
// refused as unavailable while writes try to rebuild its transaction;
// under -race, a read that looked at why after letting go of the lock
// fails.
func TestReadWhileBroken(t *testing.T) {
	s, path := withLog(t)
	ctx := t.Context()
	damageOnSync(s, path, nil, nil)
	require.ErrorIs(t, s.w.do(ctx, false, "", putMeta("b")), syscall.EIO)
	reads := make(chan error, 100)
	go func() {
		for range cap(reads) {
			_, err := s.Group(context.Background(), "g", nil)
			reads <- err
		}
		close(reads)
	}()
	for range 20 { // each rebuilds the transaction, and fails
		require.ErrorIs(t, s.w.do(ctx, false, "", putMeta("c")), klaxon.ErrUnavailable)
	}
	for err := range reads {
		require.ErrorIs(t, err, klaxon.ErrUnavailable)
	}
}

// TestGroupReadPassesWriteAside: a read of a group does not wait for a
// write on its way to the log that touches no group's records (the
// escalation engine's claims, incident IDs); a read of everything does.
func TestGroupReadPassesWriteAside(t *testing.T) {
	s := openTemp(t)
	entered, release := holdSync(s)
	defer release(nil)
	aside := make(chan error, 1)
	go func() { aside <- s.update(context.Background(), false, putMeta("aside")) }()
	<-entered

	read := readVersion(t, s, "g")
	require.Zero(t, s.w.waits.Load(), "the read of a group waited for a write of none")
	require.Equal(t, uint64(0), <-read)
	all := make(chan error, 1)
	go func() {
		_, err := s.Incidents(context.Background(), klaxon.IncidentFilter{})
		all <- err
	}()
	require.Eventually(t, func() bool { return s.w.waits.Load() == 1 }, testTimeout, tick)
	require.Empty(t, all, "the read of everything saw a write before its frame was durable")
	release(nil)
	require.NoError(t, <-aside)
	require.NoError(t, <-all)
}

// TestGroupReadPassesRefusedCommit: a read of a group does not wait for
// a batch, on its way to the log, whose commit of that group was
// refused: that commit wrote nothing.
func TestGroupReadPassesRefusedCommit(t *testing.T) {
	s := openTemp(t)
	x, release := onItsWay(t, s)
	defer release(nil)
	refused, err := s.Queue(t.Context(), klaxon.Commit{Group: "g", Version: 7}, nil, nil)
	require.NoError(t, err)
	y, err := s.w.queue(t.Context(), false, "y", putMeta("y"), nil, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return curWrites(s) == 2 }, testTimeout, tick)

	read := readVersion(t, s, "g")
	require.Zero(t, s.w.waits.Load(), "the read of g waited for a batch whose commit of g was refused")
	require.Equal(t, uint64(0), <-read)
	release(nil)
	require.NoError(t, s.w.wait(x))
	require.NoError(t, s.w.wait(y))
	require.ErrorIs(t, refused.Wait(), klaxon.ErrConflict)
}

// TestSyncerYields checks when the syncer lets the senders it answered
// run before its next frame: when that frame and the next hold small
// writes, and never when an urgent write waits or is in the next frame.
func TestSyncerYields(t *testing.T) {
	small, big := make([]byte, 300), make([]byte, 40<<10)
	for _, tc := range []struct {
		name        string
		frame, next []byte // the frame answered, the next one's record
		batch       int    // writes the frame answered; the next holds one
		noNext      bool   // the next frame holds no write yet
		waiting     bool   // an urgent write waits to be taken
		urgentNext  bool   // the next frame holds an urgent write too
		want        bool
	}{
		{name: "small writes", frame: small, next: small, batch: 1, want: true},
		{name: "many small writes", frame: make([]byte, 64*300), next: small, batch: 64, want: true},
		{name: "a body of many alerts", frame: big, next: small, batch: 1},
		{name: "bodies of many alerts", frame: make([]byte, 8*(40<<10)), next: small, batch: 8},
		{name: "a body of many alerts next", frame: small, next: big, batch: 1},
		{name: "nothing next", frame: small, batch: 1, noNext: true},
		{name: "an urgent write waits", frame: small, next: small, batch: 1, waiting: true},
		{name: "an urgent write is next", frame: small, next: small, batch: 1, urgentNext: true},
		{name: "no write", next: small},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &writer{urgent: make(chan *write, 1), cur: newFlight()}
			w.rec.buf = tc.next
			f := newFlight()
			for range tc.batch {
				f.batch = append(f.batch, &write{})
			}
			if tc.waiting {
				w.urgent <- &write{urgent: true}
			}
			if !tc.noNext {
				w.cur.batch = append(w.cur.batch, &write{})
			}
			if tc.urgentNext {
				w.cur.batch = append(w.cur.batch, &write{urgent: true})
			}
			require.Equal(t, tc.want, w.yields(f, len(tc.frame)))
		})
	}
}

// TestUrgentWritesMarked: the writes of the urgent queue say so, which
// is what keeps the syncer from yielding ahead of them (see yields).
func TestUrgentWritesMarked(t *testing.T) {
	s, _ := openWith(t, nil)
	for _, urgent := range []bool{false, true} {
		wr, err := s.w.queue(t.Context(), urgent, noGroup, putMeta("u"), nil, nil)
		require.NoError(t, err)
		require.Equal(t, urgent, wr.urgent)
		require.NoError(t, s.w.wait(wr))
	}
}

// TestFirstTimeRunAgain: a FirstTime that ran on a batch whose frame
// then failed runs again on mem rebuilt without it, and answers by that
// run. X, at K's expiry, prunes K and fails; B, a moment before K's
// expiry, first ran on X's prune (K looked new), then again on the
// file's state, where K is recorded and unexpired: not a first time.
func TestFirstTimeRunAgain(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ttl := time.Hour
	expiry := t0.Add(ttl)
	first, err := s.FirstTime(ctx, "K", t0, ttl)
	require.NoError(t, err)
	require.True(t, first)

	entered, release := holdSync(s)
	defer release(nil)
	x := make(chan error, 1)
	go func() {
		_, err := s.FirstTime(ctx, "other", expiry, ttl)
		x <- err
	}()
	<-entered
	type answer struct {
		first bool
		err   error
	}
	b := make(chan answer, 1)
	go func() {
		first, err := s.FirstTime(ctx, "K", expiry.Add(-time.Nanosecond), ttl)
		b <- answer{first, err}
	}()
	require.Eventually(t, func() bool { return curWrites(s) == 1 }, testTimeout, tick, "B ran on X's prune")
	release(syscall.EIO)
	require.ErrorIs(t, <-x, syscall.EIO)
	got := <-b
	require.NoError(t, got.err)
	require.False(t, got.first, "K is recorded and unexpired at B's now")
}
