package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/storetest"
)

var logNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// crashed opens a store at path, makes writes durable in its log, and
// stops it as a crash would: nothing it wrote since it opened is in the
// file, all of it in the log. It returns what it wrote.
func crashed(t *testing.T, path string) (incidents []string, override klaxon.Override) {
	t.Helper()
	s, err := Open(path)
	require.NoError(t, err)
	ctx := t.Context()
	for i := range 3 {
		c := storetest.NewIncidentCommit(int64(i+1), logNow)
		require.NoError(t, s.Commit(ctx, c))
		incidents = append(incidents, c.Open)
	}
	override, err = s.PutOverride(ctx, klaxon.Override{Schedule: "primary", User: "alice", From: logNow, To: logNow.Add(time.Hour)}, logNow)
	require.NoError(t, err)
	first, err := s.FirstTime(ctx, "sms:SM1", logNow, time.Hour)
	require.NoError(t, err)
	require.True(t, first)
	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	require.Equal(t, "1", id)
	// The last checkpoint, at Close, fails: the process ends with its
	// writes in the log only.
	failCheckpoints(s, syscall.EIO)
	require.ErrorIs(t, s.Close(), syscall.EIO)

	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	require.NoError(t, err)
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		require.Nil(t, tx.Bucket(bucketIncidents).Get(incidentKey(incidents[0])), "the file does not have it")
		return nil
	}))
	require.NoError(t, db.Close())
	return incidents, override
}

// requireRecovered checks that a store reopened after crashed has all it
// wrote.
func requireRecovered(t *testing.T, s *Store, incidents []string, override klaxon.Override) {
	t.Helper()
	ctx := t.Context()
	for _, id := range incidents {
		inc, err := s.Incident(ctx, id)
		require.NoError(t, err, "incident %s", id)
		require.Equal(t, klaxon.StateTriggered, inc.State)
		alerts, _, err := s.IncidentAlerts(ctx, id, "", 10)
		require.NoError(t, err)
		require.Len(t, alerts, 5)
	}
	overrides, err := s.Overrides(ctx, "primary", logNow)
	require.NoError(t, err)
	require.Equal(t, []klaxon.Override{override}, overrides)
	first, err := s.FirstTime(ctx, "sms:SM1", logNow, time.Hour)
	require.NoError(t, err)
	require.False(t, first, "the callback was recorded before the crash")
	id, err := s.NextIncidentID(ctx)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(idBlock+1), id, "past the block reserved before the crash")
}

// TestLogRecoversAfterCrash: writes answered before a crash are replayed
// from the log into the file at the next Open, and the log is emptied.
func TestLogRecoversAfterCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	incidents, override := crashed(t, path)
	s, err := Open(path)
	require.NoError(t, err)
	require.Zero(t, logHeld(t, path), "the log is emptied once the file holds it")
	require.NoFileExists(t, path+"-wal.tail", "the zeros and old frames after the last frame are no tear")
	requireRecovered(t, s, incidents, override)
	require.NoError(t, s.Close())

	// Once more: the file has it now, with no log.
	s, err = Open(path)
	require.NoError(t, err)
	defer s.Close()
	inc, err := s.Incident(t.Context(), incidents[2])
	require.NoError(t, err)
	require.Equal(t, incidents[2], inc.ID)
}

// TestLogEndsAtTornFrame: a frame cut short by a crash, or bytes after
// the last frame, end the log there; the frames before it are replayed.
func TestLogEndsAtTornFrame(t *testing.T) {
	// Each tear writes over the log after its last whole frame, at end,
	// where the frame at position next was being written.
	for name, tear := range map[string]func(t *testing.T, log string, end int64, next uint64){
		"a damaged frame after the last": func(t *testing.T, log string, end int64, next uint64) {
			frame := appendFrame(nil, next, []byte("the batch being written"))
			frame[len(frame)-1] ^= 0xff
			writeAt(t, log, frame, end)
		},
		"half a frame more": func(t *testing.T, log string, end int64, next uint64) {
			frame := appendFrame(nil, next, []byte("the batch being written"))
			writeAt(t, log, frame[:len(frame)/2], end)
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k.db")
			incidents, override := crashed(t, path)
			end, last := logEnd(t, path)
			tear(t, path+"-wal", end, last+1)
			data, err := os.ReadFile(path + "-wal")
			require.NoError(t, err)
			s, err := Open(path)
			require.NoError(t, err)
			defer s.Close()
			requireRecovered(t, s, incidents, override)
			tail, err := os.ReadFile(path + "-wal.tail")
			require.NoError(t, err, "what follows the last whole frame is kept")
			require.True(t, bytes.HasSuffix(data, tail))
			require.True(t, bytes.HasPrefix(tail, data[end:end+frameHeader]), "from the torn frame on")
		})
	}

	t.Run("the last frame's checksum fails: that batch is not replayed", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "k.db")
		incidents, _ := crashed(t, path)
		log := path + "-wal"
		data, err := os.ReadFile(log)
		require.NoError(t, err)
		end, _ := logEnd(t, path)
		data[end-1] ^= 0xff // the last frame is the ID block's
		require.NoError(t, os.WriteFile(log, data, 0o600))
		s, err := Open(path)
		require.NoError(t, err)
		defer s.Close()
		_, err = s.Incident(t.Context(), incidents[0])
		require.NoError(t, err, "the frames before it are")
		first, err := s.FirstTime(t.Context(), "sms:SM1", logNow, time.Hour)
		require.NoError(t, err)
		require.False(t, first, "the frame before it is replayed")
		id, err := s.NextIncidentID(t.Context())
		require.NoError(t, err)
		require.Equal(t, "1", id, "the torn batch is not")
	})
}

// TestLogGapRefused: a log whose first frame after the file's checkpoint
// is not the next one is missing batches: Open refuses it and says what
// to do, rather than open a file without them.
func TestLogGapRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	var rec record
	rec.put(bucketMeta, []byte("k"), []byte("v"))
	require.NoError(t, os.WriteFile(path+"-wal", appendFrame(nil, 5, rec.buf), 0o600))
	_, err = Open(path)
	require.ErrorContains(t, err, "the log skips from batch 0 to 5")
	require.ErrorContains(t, err, "restore a backup")
}

// TestCheckpoint: the batches since the last checkpoint are committed to
// the file once they take checkpointBytes, or once they have waited
// every; the log is emptied then.
func TestCheckpoint(t *testing.T) {
	inFile := func(t *testing.T, s *Store, id string) bool {
		var found bool
		require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
			found = tx.Bucket(bucketIncidents).Get(incidentKey(id)) != nil
			return nil
		}))
		return found
	}
	// opened is a store whose checkpoints come only as a test sets them.
	opened := func(t *testing.T, set func(w *writer)) (*Store, string) {
		return openWith(t, func(w *writer) {
			w.every = time.Hour
			set(w)
		})
	}
	for name, set := range map[string]func(w *writer){
		"by size": func(w *writer) { w.checkpointBytes = 1 },
		"by time": func(w *writer) { w.every = time.Millisecond },
	} {
		t.Run(name, func(t *testing.T) {
			s, path := opened(t, set)
			c := storetest.NewIncidentCommit(1, logNow)
			require.NoError(t, s.Commit(t.Context(), c))
			require.Eventually(t, func() bool { return inFile(t, s, c.Open) && logHeld(t, path) == 0 }, testTimeout, tick)
			fi, err := os.Stat(path + "-wal")
			require.NoError(t, err)
			require.Equal(t, int64(logAllocate), fi.Size(), "the log keeps the length written ahead")
		})
	}
	t.Run("a failed checkpoint keeps every write, and the next one writes them", func(t *testing.T) {
		// By size; after the failure, by time.
		s, _ := opened(t, func(w *writer) { w.checkpointBytes, w.every = 1, 10*time.Millisecond })
		fails := make(chan error, 1)
		fails <- syscall.ENOSPC
		fault := func() error {
			select {
			case err := <-fails:
				return err
			default:
				return nil
			}
		}
		s.w.checkpointFault.Store(&fault)
		first := storetest.NewIncidentCommit(1, logNow)
		require.NoError(t, s.Commit(t.Context(), first), "answered once in the log")
		require.Eventually(t, func() bool { return len(fails) == 0 }, testTimeout, tick)
		_, err := s.Incident(t.Context(), first.Open)
		require.NoError(t, err, "read from the frozen layer")
		second := storetest.NewIncidentCommit(2, logNow)
		require.NoError(t, s.Commit(t.Context(), second))
		require.Eventually(t, func() bool { return inFile(t, s, first.Open) && inFile(t, s, second.Open) }, testTimeout, tick)
	})
	t.Run("past maxHeld, writes wait for a checkpoint", func(t *testing.T) {
		s, _ := opened(t, func(w *writer) { w.maxHeld = 1 })
		failCheckpoints(s, syscall.ENOSPC)
		require.NoError(t, s.Commit(t.Context(), storetest.NewIncidentCommit(1, logNow)))
		err := s.Commit(t.Context(), storetest.NewIncidentCommit(2, logNow))
		require.ErrorIs(t, err, klaxon.ErrUnavailable)
		require.ErrorIs(t, err, syscall.ENOSPC)
		require.ErrorIs(t, s.Ping(t.Context()), klaxon.ErrUnavailable)
	})
}

// TestReadWaitsForDurable: a read that comes while a batch is on its way
// to the log waits for it, and reads once, without it if the batch could
// not be written: a reader never sees what a crash would lose.
func TestReadWaitsForDurable(t *testing.T) {
	s := openTemp(t)
	c, release, committed := inFlight(t, s)
	defer release()

	var seen []bool
	read := make(chan error, 1)
	go func() {
		read <- s.view(func(tx *txn) error {
			seen = append(seen, tx.Bucket(bucketIncidents).Get(incidentKey(c.Open)) != nil)
			return nil
		})
	}()
	require.Eventually(t, func() bool { return s.w.waits.Load() == 1 }, testTimeout, tick, "the read waits")
	release()
	require.NoError(t, <-read)
	require.ErrorIs(t, <-committed, syscall.EIO)
	require.Equal(t, []bool{false}, seen, "read once, without the dropped batch")
}

// TestFailedWriteTakenBack: a write that fails after it wrote part of its
// changes leaves none of them; the batch's other writes land.
func TestFailedWriteTakenBack(t *testing.T) {
	s, release := held(t)
	ctx := t.Context()
	broken := errors.New("half written")
	errs := make(chan error, 2)
	go func() {
		errs <- s.update(ctx, false, func(tx *txn) error {
			if err := tx.Bucket(bucketMeta).Put([]byte("half"), []byte("x")); err != nil {
				return err
			}
			return broken
		})
	}()
	go func() { errs <- s.Commit(ctx, klaxon.Commit{Group: "a", Index: []string{"am/a"}}) }()
	require.Eventually(t, func() bool { return len(s.w.normal) == 2 }, testTimeout, tick)
	release()
	got := []error{<-errs, <-errs}
	require.Contains(t, got, nil)
	require.True(t, errors.Is(got[0], broken) || errors.Is(got[1], broken))
	require.NoError(t, s.view(func(tx *txn) error {
		require.Nil(t, tx.Bucket(bucketMeta).Get([]byte("half")), "taken back")
		require.Equal(t, []byte("a"), tx.Bucket(bucketAlerts).Get([]byte("am/a")))
		return nil
	}))
}

// FuzzLog: whatever the log file holds, reading and replaying it never
// panics, and frames written are read back as they were.
func FuzzLog(f *testing.F) {
	var rec record
	rec.create([]byte("callbacks"))
	rec.put(bucketMeta, []byte("k"), []byte("v"))
	rec.delete(bucketMeta, []byte("k"))
	rec.sequence(bucketIDs, 32)
	f.Add(appendFrame(appendFrame(nil, 1, rec.buf), 2, rec.buf[:3]))
	f.Add(appendFrame(nil, 7, []byte{opPut, 4, 'm', 'e', 't', 'a', 200}))
	f.Add([]byte{})
	db, err := bolt.Open(filepath.Join(f.TempDir(), "fuzz.db"), 0o600, nil)
	require.NoError(f, err)
	f.Cleanup(func() { _ = db.Close() })
	require.NoError(f, db.Update(upgrade))
	f.Fuzz(func(t *testing.T, data []byte) {
		tx, err := db.Begin(true)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback() }()
		var frames [][]byte
		n, err := readFrames(data, func(_ uint64, payload []byte) error {
			frames = append(frames, payload)
			return replayRecord(&txn{tx: tx}, payload)
		})
		require.LessOrEqual(t, n, len(data))
		_ = err                              // a record that does not decode or apply ends the replay
		_ = replayRecord(&txn{tx: tx}, data) // the bytes as a record, past the checksum
		// What was read is written back the same.
		var again []byte
		for i, p := range frames {
			again = appendFrame(again, uint64(i+1), p)
		}
		var back [][]byte
		m, err := readFrames(again, func(_ uint64, payload []byte) error {
			back = append(back, payload)
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, len(again), m)
		require.Len(t, back, len(frames))
		for i := range back {
			require.True(t, bytes.Equal(frames[i], back[i]))
		}
	})
}

// TestGroupReadWaitsForDurable: a group read, which a commit is computed
// from, waits for a batch on its way to the log too: were the batch
// dropped, its version would be given again to another commit, which
// the one computed from the dropped batch would then match.
func TestGroupReadWaitsForDurable(t *testing.T) {
	s := openTemp(t)
	c, release, committed := inFlight(t, s)
	defer release()
	read := make(chan klaxon.Group, 1)
	go func() {
		g, err := s.Group(context.Background(), c.Group, nil)
		if err != nil {
			panic(err)
		}
		read <- g
	}()
	require.Eventually(t, func() bool { return s.w.waits.Load() == 1 }, testTimeout, tick, "the read waits")
	release()
	require.ErrorIs(t, <-committed, syscall.EIO)
	g := <-read
	require.Zero(t, g.Version, "the dropped batch is not read")
	require.Nil(t, g.Open)
}

// TestGroupReadOfAnotherGroupGoesOn: a batch on its way to the log holds
// up only the reads of the groups it writes. A read of another group runs
// at once, on what is durable, so that a storm's next commits are
// computed while the last batch is synced.
func TestGroupReadOfAnotherGroupGoesOn(t *testing.T) {
	s := openTemp(t)
	other := storetest.NewIncidentCommit(2, logNow)
	require.NoError(t, s.Commit(t.Context(), other))
	_, release, committed := inFlight(t, s)
	defer release()

	type result struct {
		g   klaxon.Group
		err error
	}
	read := make(chan result, 2)
	go func() {
		for _, key := range []string{other.Group, "alertname=Never,service=written"} {
			g, err := s.Group(context.Background(), key, other.Index[:1])
			read <- result{g, err}
		}
	}()
	require.Eventually(t, func() bool { return len(read) == 2 || s.w.waits.Load() > 0 }, testTimeout, tick)
	require.Zero(t, s.w.waits.Load(), "no read waited for the batch of another group")
	r := <-read
	require.NoError(t, r.err)
	require.Equal(t, uint64(1), r.g.Version)
	require.Equal(t, other.Open, r.g.Open.ID)
	require.Contains(t, r.g.Alerts, other.Index[0])
	r = <-read
	require.NoError(t, r.err)
	require.Zero(t, r.g.Version)

	release()
	require.ErrorIs(t, <-committed, syscall.EIO)
}

// TestChainedReadGoesOn: a read for a commit chained behind one on its
// way to the log (AlertsAfter) does not wait for it, and sees what it
// wrote; should it be dropped, so is the chained commit. A read for a
// commit that does not follow it waits.
func TestChainedReadGoesOn(t *testing.T) {
	s := openTemp(t)
	entered, gate := make(chan struct{}), make(chan struct{})
	s.w.fault = func([]byte) error { // the syncer's goroutine only
		s.w.fault = nil
		close(entered)
		<-gate
		return syscall.EIO
	}
	release := sync.OnceFunc(func() { close(gate) })
	defer release()
	first := storetest.NewIncidentCommit(1, logNow)
	cur, err := s.Queue(t.Context(), first, nil, nil)
	require.NoError(t, err)
	<-entered

	open, seen, err := s.AlertsAfter(t.Context(), first.Group, first.Index[:1], cur)
	require.NoError(t, err)
	require.Zero(t, s.w.waits.Load(), "the chained read did not wait")
	require.Equal(t, first.Open, open, "it reads what the commit it follows wrote")
	require.Contains(t, seen, first.Index[0])
	next := first
	next.Version, next.Incidents, next.Index, next.Timers = 1, nil, []string{"am/1-9"}, nil
	chained, err := s.Queue(t.Context(), next, cur, nil)
	require.NoError(t, err)

	// Another commit of the group, not chained: its read waits.
	other, err := s.Queue(t.Context(), klaxon.Commit{Group: first.Group, Version: 0}, nil, nil)
	require.NoError(t, err)
	read := make(chan error, 1)
	go func() {
		_, _, err := s.AlertsAfter(context.Background(), first.Group, nil, other)
		read <- err
	}()
	require.Eventually(t, func() bool { return s.w.waits.Load() == 1 }, testTimeout, tick, "the read of a commit that does not follow it waits")
	release()
	require.NoError(t, <-read)
	require.ErrorIs(t, cur.Wait(), syscall.EIO)
	require.ErrorIs(t, chained.Wait(), klaxon.ErrConflict, "dropped with the commit it follows")
	require.NoError(t, other.Wait())
	g, err := s.Group(t.Context(), first.Group, nil)
	require.NoError(t, err)
	require.Equal(t, uint64(1), g.Version)
	require.Nil(t, g.Open, "the group is as the commit of its own left it")
}

// TestFailedAppendLeavesNothing: a frame written whose fdatasync failed
// is cut off before the writer answers, so that a crash does not bring
// back a write its sender was told had failed.
func TestFailedAppendLeavesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := Open(path)
	require.NoError(t, err)
	first := storetest.NewIncidentCommit(1, logNow)
	require.NoError(t, s.Commit(t.Context(), first))
	before := logHeld(t, path)
	s.w.log.syncFault = func() error { // the syncer's goroutine only
		s.w.log.syncFault = nil
		return syscall.EIO
	}
	failed := storetest.NewIncidentCommit(2, logNow)
	require.ErrorIs(t, s.Commit(t.Context(), failed), syscall.EIO)
	require.Equal(t, before, logHeld(t, path), "the frame is cut off")
	failCheckpoints(s, syscall.EIO) // a crash: the log alone holds the writes
	require.Error(t, s.Close())

	s, err = Open(path)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Incident(t.Context(), first.Open)
	require.NoError(t, err)
	_, err = s.Incident(t.Context(), failed.Open)
	require.ErrorIs(t, err, klaxon.ErrNotFound, "the failed write does not come back")
}

// TestLogRecoversAfterCheckpoint: batches logged after a checkpoint are
// replayed from the position the checkpoint stored, and deletes and
// sequences are replayed as puts are.
func TestLogRecoversAfterCheckpoint(t *testing.T) {
	s, path := openWith(t, func(w *writer) { w.every = time.Millisecond })
	ctx := t.Context()
	a := storetest.NewIncidentCommit(1, logNow)
	require.NoError(t, s.Commit(ctx, a))
	require.Eventually(t, func() bool { return logHeld(t, path) == 0 }, testTimeout, tick, "checkpointed")
	failCheckpoints(s, syscall.EIO) // from here on, the log alone holds the writes
	b := storetest.NewIncidentCommit(2, logNow)
	require.NoError(t, s.Commit(ctx, b))
	put := func(user string) klaxon.Override {
		o, err := s.PutOverride(ctx, klaxon.Override{Schedule: "primary", User: user, From: logNow, To: logNow.Add(time.Hour)}, logNow)
		require.NoError(t, err)
		return o
	}
	first, second := put("alice"), put("bob")
	require.NoError(t, s.DeleteOverride(ctx, "primary", first.ID))
	require.Error(t, s.Close())

	s, err := Open(path)
	require.NoError(t, err)
	defer s.Close()
	for _, id := range []string{a.Open, b.Open} {
		_, err := s.Incident(ctx, id)
		require.NoError(t, err, "incident %s", id)
	}
	overrides, err := s.Overrides(ctx, "primary", logNow)
	require.NoError(t, err)
	require.Equal(t, []klaxon.Override{second}, overrides, "the delete is replayed")
	third, err := s.PutOverride(ctx, klaxon.Override{Schedule: "primary", User: "carol", From: logNow, To: logNow.Add(time.Hour)}, logNow)
	require.NoError(t, err)
	require.Equal(t, "3", third.ID, "the sequence is replayed")
}

// logHeld is the size of the frames that the log of the store at path
// holds, from its start.
func logHeld(t *testing.T, path string) int64 {
	n, _ := logEnd(t, path)
	return n
}

// logEnd returns the size of the frames that the two log files of the
// store at path hold, and the position of the last.
func logEnd(t *testing.T, path string) (int64, uint64) {
	t.Helper()
	var size int64
	var last uint64
	for _, p := range []string{path + "-wal", path + "-wal2"} {
		n, l := logEnd1(t, p)
		size, last = size+n, max(last, l)
	}
	return size, last
}

// logEnd1 is logEnd of the log file at path alone.
func logEnd1(t *testing.T, path string) (int64, uint64) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var last uint64
	n, err := readFrames(data, func(pos uint64, _ []byte) error { last = pos; return nil })
	require.NoError(t, err)
	return int64(n), last
}

// writeAt writes b into the file at path at offset off.
func writeAt(t *testing.T, path string, b []byte, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// failCheckpoints fails every checkpoint of s from now on with err.
func failCheckpoints(s *Store, err error) {
	f := func() error { return err }
	s.w.checkpointFault.Store(&f)
}

// inFlight commits a new incident to s and returns once its batch is on
// its way to the log, held there until release, which fails it (EIO);
// committed gets the commit's outcome.
func inFlight(t *testing.T, s *Store) (c klaxon.Commit, release func(), committed <-chan error) {
	t.Helper()
	entered, gate := make(chan struct{}), make(chan struct{})
	s.w.fault = func([]byte) error { // the syncer's goroutine only
		close(entered)
		<-gate
		return syscall.EIO
	}
	c = storetest.NewIncidentCommit(1, logNow)
	done := make(chan error, 1)
	go func() { done <- s.Commit(context.Background(), c) }()
	<-entered
	return c, sync.OnceFunc(func() { close(gate) }), done
}

// TestTimelineAfterFailedAppend: events a batch appended and could not
// make durable are not counted: the next commit appends right after the
// events that are durable, before and after a checkpoint, so the
// timeline has no gap and its count is its length.
func TestTimelineAfterFailedAppend(t *testing.T) {
	// A checkpoint after every batch.
	s, _ := openWith(t, func(w *writer) { w.checkpointBytes = 1 })
	ctx := t.Context()
	first := storetest.NewIncidentCommit(1, logNow)
	require.NoError(t, s.Commit(ctx, first))
	id := first.Open
	note := func(version uint64, text string) klaxon.Commit {
		inc := *first.Incidents[0]
		inc.Changed, inc.Recorded = nil, nil
		inc.Record(klaxon.Event{At: logNow, Kind: klaxon.EventNote, Text: text})
		inc.Record(klaxon.Event{At: logNow, Kind: klaxon.EventNote, Text: text + " again"})
		return klaxon.Commit{Group: first.Group, Version: version, Open: id, Incidents: []*klaxon.Incident{&inc}}
	}
	s.w.fault = func([]byte) error { // the syncer's goroutine only
		s.w.fault = nil
		return syscall.EIO
	}
	require.ErrorIs(t, s.Commit(ctx, note(1, "lost")), syscall.EIO)
	require.NoError(t, s.Commit(ctx, note(1, "kept")))
	require.NoError(t, s.Commit(ctx, note(2, "after the checkpoint")))

	events, total, err := s.Timeline(ctx, id, 0, 100)
	require.NoError(t, err)
	var texts []string
	for _, e := range events {
		texts = append(texts, e.Text)
	}
	require.Equal(t, []string{"", "kept", "kept again", "after the checkpoint", "after the checkpoint again"}, texts)
	require.Equal(t, len(events), total)
}

// checkpointNow has the writer take a checkpoint at once, on its own
// goroutine.
func checkpointNow(s *Store) { s.w.timer.Reset(time.Nanosecond) }

// holdCheckpoints holds s's next checkpoint in its transaction, before it
// commits: held is closed once it is there, and release lets it go on.
func holdCheckpoints(s *Store) (held <-chan struct{}, release chan<- struct{}) {
	h, r := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hold := func() error {
		once.Do(func() { close(h) })
		<-r
		return nil
	}
	s.w.checkpointFault.Store(&hold)
	return h, r
}

// crashedCopy copies the files of the store at path, as a process that
// ends now leaves them, to a path of their own, which it returns.
func crashedCopy(t *testing.T, path string) string {
	t.Helper()
	crashed := filepath.Join(t.TempDir(), "k.db")
	for _, suffix := range []string{"", "-wal", "-wal2"} {
		b, err := os.ReadFile(path + suffix)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(crashed+suffix, b, 0o600))
	}
	return crashed
}

// TestCrashMidCheckpoint: a process that ends while a checkpoint commits
// leaves the batches the checkpoint holds in one log file and those
// after it in the other, and the file with part of them; Open replays
// both, in order, into the file.
// Meanwhile the writer went on: the checkpoint held up no write, and
// reads saw both layers.
func TestCrashMidCheckpoint(t *testing.T) {
	// A bbolt transaction a record: the crash leaves the file with all
	// but the last of the checkpoint's, and no new log position.
	s, path := openWith(t, func(w *writer) { w.every, w.commitChunk = time.Hour, 1 })
	ctx := t.Context()
	// A first checkpoint, so that the next freeze writes the second
	// file first: Open must replay the files in the order they took
	// batches, not by name.
	first := storetest.NewIncidentCommit(9, logNow)
	require.NoError(t, s.Commit(ctx, first))
	checkpointNow(s)
	require.Eventually(t, func() bool { return logHeld(t, path) == 0 }, testTimeout, tick, "checkpointed")

	held, release := holdCheckpoints(s)
	ids := []string{first.Open}
	for i := range int64(3) {
		c := storetest.NewIncidentCommit(i+1, logNow)
		require.NoError(t, s.Commit(ctx, c))
		ids = append(ids, c.Open)
	}
	checkpointNow(s)
	<-held // the checkpoint is in its transaction, not committed
	for i := range int64(3) {
		c := storetest.NewIncidentCommit(i+4, logNow)
		require.NoError(t, s.Commit(ctx, c), "a write does not wait for the checkpoint")
		ids = append(ids, c.Open)
	}
	for _, id := range ids {
		_, err := s.Incident(ctx, id)
		require.NoError(t, err, "incident %s, read from the layers", id)
	}
	crashed := crashedCopy(t, path) // the process ends here
	held1, _ := logEnd(t, crashed)
	require.Positive(t, held1)
	for _, suffix := range []string{"-wal", "-wal2"} {
		n, _ := logEnd1(t, crashed+suffix)
		require.Positive(t, n, "%s holds batches", suffix)
	}
	close(release)

	for range 2 {
		again, err := Open(crashed)
		require.NoError(t, err)
		for _, id := range ids {
			inc, err := again.Incident(ctx, id)
			require.NoError(t, err, "incident %s after the crash", id)
			require.Equal(t, 5, inc.AlertCount)
		}
		require.NoError(t, again.Close())
	}
}

// TestFailedFrameNotCutOffHoldsTheFreeze: a frame whose fdatasync failed,
// and whose cut-off failed too, stays past the end of its log file. The
// other file must not take the next batch at the same position before
// the cut is made: after a crash, Open would replay the failed frame in
// place of the answered one.
func TestFailedFrameNotCutOffHoldsTheFreeze(t *testing.T) {
	s, path := openWith(t, func(w *writer) { w.every = time.Hour })
	ctx := t.Context()
	first := storetest.NewIncidentCommit(1, logNow)
	require.NoError(t, s.Commit(ctx, first))

	var rw *os.File
	s.w.log.syncFault = func() error { // the syncer's goroutine only
		s.w.log.syncFault = nil
		ro, err := os.Open(path + "-wal")
		if err != nil {
			return err
		}
		rw, s.w.log.f = s.w.log.f, ro // the truncate that cuts the frame off fails
		return syscall.EIO
	}
	failed := storetest.NewIncidentCommit(2, logNow)
	require.ErrorIs(t, s.Commit(ctx, failed), syscall.EIO)
	require.True(t, s.w.log.dirty, "the failed frame could not be cut off")

	held, release := holdCheckpoints(s)
	// The cut can be made now, and is, before the checkpoint freezes the
	// layer and hands the next batch to the other file.
	s.w.log.f, rw = rw, s.w.log.f // the syncer is idle: the commit failed
	checkpointNow(s)
	<-held
	third := storetest.NewIncidentCommit(3, logNow)
	require.NoError(t, s.Commit(ctx, third), "answered: durable in -wal2")

	crashed := crashedCopy(t, path)
	close(release)
	_ = s.Close()
	_ = rw.Close()

	again, err := Open(crashed)
	require.NoError(t, err)
	defer again.Close()
	_, err = again.Incident(ctx, first.Open)
	require.NoError(t, err)
	_, err = again.Incident(ctx, third.Open)
	require.NoError(t, err, "an answered write survives the crash")
	_, err = again.Incident(ctx, failed.Open)
	require.ErrorIs(t, err, klaxon.ErrNotFound, "a write answered as failed does not come back")
}

// TestReadyRefusesWhileTheLogCannotBeCut: past maxHeld, with no
// checkpoint on its way, a write waits for the next freeze. While a
// frame that failed stays in the log and cannot be cut off, no freeze
// can come: the write is refused (503), not left waiting.
func TestReadyRefusesWhileTheLogCannotBeCut(t *testing.T) {
	s, _ := openWith(t, func(w *writer) { w.every, w.maxHeld = 10*time.Millisecond, 1024 })
	ctx := t.Context()
	put := func(key string, n int) error {
		return s.update(ctx, false, func(tx *txn) error { return tx.Bucket(bucketMeta).Put([]byte(key), make([]byte, n)) })
	}
	frozen := func() bool {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		return s.w.frozen != nil
	}
	failCheckpoints(s, syscall.ENOSPC)
	require.NoError(t, put("a", 8))
	require.Eventually(t, frozen, testTimeout, tick, "a frozen by the timer, its checkpoint failing")
	s.w.mu.Lock()
	log := s.w.log
	s.w.mu.Unlock()

	// b (4 KiB) passes ready, the log holding less than maxHeld, and is
	// held on its way; c comes meanwhile and passes too; its frame fails,
	// in a file that can no longer be cut.
	entered, gate := make(chan struct{}), make(chan struct{})
	var rw *os.File
	held := false
	log.syncFault = func() error { // the syncer's goroutine only
		if !held {
			held = true
			close(entered)
			<-gate
			return nil
		}
		log.syncFault = nil
		ro, err := os.Open(log.f.Name())
		if err != nil {
			return err
		}
		rw, log.f = log.f, ro
		return syscall.EIO
	}
	b, c := make(chan error, 1), make(chan error, 1)
	go func() { b <- put("b", 4096) }()
	<-entered
	go func() { c <- put("c", 8) }()
	require.Eventually(t, func() bool {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		return len(s.w.cur.batch) == 1
	}, testTimeout, tick, "c waits in the next batch")
	close(gate)
	require.NoError(t, <-b)
	require.ErrorIs(t, <-c, syscall.EIO)

	s.w.checkpointFault.Store(nil) // the file takes checkpoints again
	require.Eventually(t, func() bool { return !frozen() }, testTimeout, tick, "a checkpointed")
	d := make(chan error, 1)
	go func() { d <- put("d", 8) }()
	select {
	case err := <-d:
		require.ErrorIs(t, err, klaxon.ErrUnavailable)
	case <-time.After(testTimeout):
		t.Fatal("a write past maxHeld waits for a freeze that cannot come")
	}
	require.Error(t, s.Close(), "the last checkpoint cannot cut the log either")
	require.NoError(t, rw.Close())
}

// TestDamagedMiddleFrame: a frame damaged in the middle of the log, with
// whole frames after it (answered before the process ended), stops Open
// with an error that names the batch and says what to do; the log is
// left as it was. Before, Open took the damage for a crash's torn last
// frame and dropped the answered batches after it without a word.
func TestDamagedMiddleFrame(t *testing.T) {
	for name, at := range map[string]func(n int) int{
		"a bit of the payload":  func(n int) int { return frameHeader + n - 1 },
		"a bit of the position": func(int) int { return 15 },
		"a bit of the length":   func(int) int { return 3 },
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k.db")
			crashed(t, path)
			log := path + "-wal"
			data, err := os.ReadFile(log)
			require.NoError(t, err)
			off := frameHeader + int(binary.BigEndian.Uint32(data)) // the second frame
			data[off+at(int(binary.BigEndian.Uint32(data[off:])))] ^= 0x40
			require.NoError(t, os.WriteFile(log, data, 0o600))
			_, err = Open(path)
			require.ErrorContains(t, err, "is damaged, and whole batches follow it")
			after, err := os.ReadFile(log)
			require.NoError(t, err)
			require.Equal(t, data, after, "the log is left for a look")
		})
	}
}
