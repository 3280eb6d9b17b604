package embedded

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/internal/alertrecord"
	"github.com/klaxonhq/klaxon/store/storetest"
	"github.com/stretchr/testify/require"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() klaxon.Store {
		path := filepath.Join(t.TempDir(), "data", "klaxon.db")
		return func() klaxon.Store {
			s, err := Open(path)
			require.NoError(t, err)
			return s
		}
	})
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	s, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	// bbolt's flock is per open file, so a second open in this process
	// stands in for a second process.
	_, err = open(path, 50*time.Millisecond, nil)
	require.ErrorContains(t, err, "open store "+path+": locked by another process?")
}

func TestOpenBadPath(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	s, err := Open(file)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = Open(filepath.Join(file, "klaxon.db")) // parent is a file
	require.ErrorContains(t, err, "open store")
}

// openTemp opens a store in a directory of its own, closed once the test
// ends.
func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "k.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openWith opens a store in a new folder, its writer's settings as set
// makes them, closed at the test's end; path is its file's.
func openWith(t *testing.T, set func(w *writer)) (s *Store, path string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "k.db")
	s, err := open(path, openTimeout, set)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

func TestCommitInvalid(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	tests := []struct {
		name string
		c    klaxon.Commit
	}{
		{"no group", klaxon.Commit{}},
		{"no incident id", klaxon.Commit{Group: "g", Incidents: []*klaxon.Incident{{}}}},
		{"timer without due", klaxon.Commit{Group: "g", Timers: []klaxon.Timer{{Incident: "1"}}}},
		{"empty alert key", klaxon.Commit{Group: "g", Index: []string{""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, s.Commit(ctx, tt.c), klaxon.ErrInvalid)
		})
	}
	err := s.Commit(ctx, klaxon.Commit{Group: "g", Open: "9"})
	require.ErrorIs(t, err, klaxon.ErrNotFound, "the open incident must exist")
	g, err := s.Group(ctx, "g", nil)
	require.NoError(t, err)
	require.Zero(t, g.Version)
}

func TestOverrides(t *testing.T) {
	storetest.RunOverrides(t, func(t *testing.T) klaxon.OverrideStore {
		return openTemp(t)
	})
}

// TestStoredDetailsNotRewritten: a new occurrence of an alert whose
// labels, annotations and links are as stored writes its seen record
// only, and an incident header as stored is not written again: the
// commit's frame in the log puts nothing else but the group's version.
func TestStoredDetailsNotRewritten(t *testing.T) {
	s, path := withLog(t)
	ctx := t.Context()
	a := klaxon.AlertState{
		Alert: klaxon.Alert{Key: "am/a", Status: klaxon.Firing, Labels: map[string]string{"team": "storage"}},
		Count: 1,
	}
	inc := &klaxon.Incident{ID: "1", Group: "g", State: klaxon.StateTriggered, Changed: []klaxon.AlertState{a}}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Open: "1", Incidents: []*klaxon.Incident{inc}}))

	again, moved := a, a
	again.Count = 2
	moved.Labels = map[string]string{"team": "platform"}
	for i, tc := range []struct {
		name    string
		alert   klaxon.AlertState
		summary string
		puts    []string
	}{
		{"same details", again, "", []string{"alert_seen", "groups"}},
		{"changed details", moved, "", []string{"alert_seen", "alert_details", "groups"}},
		{"changed header", moved, "disk full", []string{"incidents", "alert_seen", "groups"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := inc.Header()
			next.Summary = tc.summary
			next.Changed = []klaxon.AlertState{tc.alert}
			require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: uint64(i + 1), Open: "1", Incidents: []*klaxon.Incident{next}}))
			require.Equal(t, tc.puts, lastFramePuts(t, path))
		})
	}
}

// TestDetailsByDigest: an alert's seen record carries its details'
// digest, which the fold carries to the commit (AlertState.Stored): with
// that digest, the details stored stay, even other ones (put there by
// hand here), unread; with another, they are written. A commit that
// follows another (labels A to B, then back to A, folded on A's digest)
// is compared by the writer with what it holds.
func TestDetailsByDigest(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	a := klaxon.AlertState{
		Alert: klaxon.Alert{Key: "am/a", Status: klaxon.Firing, Labels: map[string]string{"team": "storage"}},
		Count: 1,
	}
	inc := &klaxon.Incident{ID: "1", Group: "g", State: klaxon.StateTriggered, AlertCount: 1, FiringCount: 1}
	commit := func(a klaxon.AlertState) {
		t.Helper()
		next := inc.Header()
		next.Changed = []klaxon.AlertState{a}
		g, err := s.Group(ctx, "g", nil)
		require.NoError(t, err)
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: g.Version, Open: "1", Incidents: []*klaxon.Incident{next}}))
	}
	labels := func() map[string]string {
		t.Helper()
		got, _, err := s.IncidentAlerts(ctx, "1", "", 10)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Zero(t, got[0].Stored, "the store's own word, for folds only")
		return got[0].Labels
	}
	byHand := map[string]string{"team": "put there by hand"}
	putByHand := func() {
		t.Helper()
		other := a
		other.Labels = byHand
		require.NoError(t, s.w.do(ctx, false, "", func(tx *txn) error {
			return tx.Bucket(bucketAlertDetails).Put(alertRecordKey(incidentKey("1"), "am/a"), alertrecord.EncodeDetails(nil, &other))
		}))
	}
	commit(a)
	g, err := s.Group(ctx, "g", []string{"am/a"})
	require.NoError(t, err)
	digest := g.Alerts["am/a"].Stored
	require.Equal(t, alertrecord.Digest(alertrecord.EncodeDetails(nil, &a)), digest)

	putByHand()
	again := a
	again.Count, again.Stored = 2, digest
	commit(again)
	require.Equal(t, byHand, labels(), "the same digest: the details stored stay")

	again.Count, again.Stored = 3, digest+1
	commit(again)
	require.Equal(t, a.Labels, labels(), "another digest: the details are written")

	g, err = s.Group(ctx, "g", nil)
	require.NoError(t, err)
	first := inc.Header()
	moved := a
	moved.Labels, moved.Count, moved.Stored = map[string]string{"team": "platform"}, 4, digest
	first.Changed = []klaxon.AlertState{moved}
	q, err := s.Queue(ctx, klaxon.Commit{Group: "g", Version: g.Version, Open: "1", Incidents: []*klaxon.Incident{first}}, nil, nil)
	require.NoError(t, err)
	second := inc.Header()
	again.Count, again.Stored = 5, digest
	second.Changed = []klaxon.AlertState{again}
	q2, err := s.Queue(ctx, klaxon.Commit{Group: "g", Version: g.Version + 1, Open: "1", Incidents: []*klaxon.Incident{second}}, q, nil)
	require.NoError(t, err)
	require.NoError(t, q.Wait())
	require.NoError(t, q2.Wait())
	require.Equal(t, a.Labels, labels(), "a commit that follows another, folded on A's digest: compared with B, and written")
}

// TestHeaderOnlyWhenChanged: a commit whose header is the one the group
// cache holds at the commit's version is neither encoded nor written:
// the stored header stays, even another one (put there by hand here),
// and so does the open index. A header that changed is written, and its
// state moves the incident in or out of the open index.
func TestHeaderOnlyWhenChanged(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	inc := &klaxon.Incident{ID: "1", Group: "g", State: klaxon.StateTriggered, Summary: "disk full", AlertCount: 1, FiringCount: 1}
	commit := func(summary string, state klaxon.State) {
		t.Helper()
		g, err := s.Group(ctx, "g", nil)
		require.NoError(t, err)
		next := inc.Header()
		next.Summary, next.State = summary, state
		open := "1"
		if !state.Open() {
			open = ""
		}
		require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: g.Version, Open: open, Incidents: []*klaxon.Incident{next}}))
	}
	summary := func() string {
		t.Helper()
		got, err := s.Incident(ctx, "1")
		require.NoError(t, err)
		return got.Summary
	}
	open := func() int {
		t.Helper()
		list, err := s.Incidents(ctx, klaxon.IncidentFilter{})
		require.NoError(t, err)
		return len(list)
	}
	commit("disk full", klaxon.StateTriggered)
	other := inc.Header()
	other.Summary = "put there by hand"
	body, err := json.Marshal(other)
	require.NoError(t, err)
	require.NoError(t, s.w.do(ctx, false, "", func(tx *txn) error {
		return tx.Bucket(bucketIncidents).Put(incidentKey("1"), body)
	}))

	commit("disk full", klaxon.StateTriggered)
	require.Equal(t, "put there by hand", summary(), "the same header: the one stored stays")
	require.Equal(t, 1, open())

	commit("disk full again", klaxon.StateTriggered)
	require.Equal(t, "disk full again", summary(), "another header is written")
	commit("disk full again", klaxon.StateResolved)
	require.Zero(t, open(), "and its state, in the open index")
}

// TestHeaderSkippedAfterFailedSync: a commit whose header the cache
// holds at its version, refused while a batch that changed the header is
// on its way to the log, runs again once that batch fails to be made
// durable, and lands with the header as stored: the cache holds only
// durable states, so the header it skipped is the one the store holds.
func TestHeaderSkippedAfterFailedSync(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	inc := &klaxon.Incident{ID: "1", Group: "g", State: klaxon.StateTriggered, Summary: "A", AlertCount: 1, FiringCount: 1}
	commit := func(summary string, state klaxon.State) (klaxon.Queued, error) {
		next := inc.Header()
		next.Summary, next.State = summary, state
		return s.Queue(ctx, klaxon.Commit{Group: "g", Version: 1, Open: "1", Incidents: []*klaxon.Incident{next}}, nil, nil)
	}
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Open: "1", Incidents: []*klaxon.Incident{inc}}))

	entered, release := holdSync(s)
	defer release(nil)
	changed, err := commit("B", klaxon.StateAcknowledged)
	require.NoError(t, err)
	<-entered
	same, err := commit("A", klaxon.StateTriggered) // the cache's header at version 1
	require.NoError(t, err)
	require.Eventually(t, func() bool { return curWrites(s) == 1 }, testTimeout, tick, "run while the change is on its way")

	release(syscall.EIO)
	require.ErrorIs(t, changed.Wait(), syscall.EIO)
	require.NoError(t, same.Wait(), "run again on the state without the change")
	got, err := s.Incident(ctx, "1")
	require.NoError(t, err)
	require.Equal(t, "A", got.Summary)
	require.Equal(t, klaxon.StateTriggered, got.State)
	list, err := s.Incidents(ctx, klaxon.IncidentFilter{States: []klaxon.State{klaxon.StateTriggered}})
	require.NoError(t, err)
	require.Len(t, list, 1, "in the open index as triggered")
	g, err := s.Group(ctx, "g", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(2), g.Version)
}

// lastFramePuts returns the buckets that the last frame in the log of
// the store at path puts to, in order.
func lastFramePuts(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path + "-wal")
	require.NoError(t, err)
	var last []byte
	_, err = readFrames(data, func(_ uint64, payload []byte) error { last = payload; return nil })
	require.NoError(t, err)
	var puts []string
	require.NoError(t, eachOp(last, func(o recordOp) error {
		if o.kind == opPut {
			puts = append(puts, string(o.bucket))
		}
		return nil
	}))
	return puts
}

// TestChainedCommitKeepsDetails: a commit chained behind another (queued
// before the first landed) still writes a details record only where it
// differs, and a partial report (a resolve that says nothing but its
// status) leaves the stored labels as they are.
func TestChainedCommitKeepsDetails(t *testing.T) {
	s, release := held(t)
	ctx := t.Context()
	a := klaxon.AlertState{
		Alert: klaxon.Alert{Key: "pd/disk", Status: klaxon.Firing, Labels: map[string]string{"team": "storage"}},
		Count: 1,
	}
	inc := &klaxon.Incident{ID: "1", Group: "g", State: klaxon.StateTriggered, AlertCount: 1, FiringCount: 1, Changed: []klaxon.AlertState{a}}
	first, err := s.Queue(ctx, klaxon.Commit{Group: "g", Open: "1", Incidents: []*klaxon.Incident{inc}}, nil, nil)
	require.NoError(t, err)

	resolved := klaxon.AlertState{Alert: klaxon.Alert{Key: "pd/disk", Status: klaxon.Resolved, Partial: true}, Count: 1}
	again := inc.Header()
	again.Changed = []klaxon.AlertState{resolved}
	second, err := s.Queue(ctx, klaxon.Commit{Group: "g", Version: 1, Open: "1", Incidents: []*klaxon.Incident{again}}, first, nil)
	require.NoError(t, err)
	release()
	require.NoError(t, first.Wait())
	require.NoError(t, second.Wait())

	alerts, _, err := s.IncidentAlerts(ctx, "1", "", 10)
	require.NoError(t, err)
	require.Len(t, alerts, 1)
	require.Equal(t, klaxon.Resolved, alerts[0].Status)
	require.Equal(t, map[string]string{"team": "storage"}, alerts[0].Labels, "the partial report keeps the stored labels")
}

// TestGroupHeaderFromCache: the writer hands the cache each commit as it
// lands, so a read at that version takes the header from the cache, even
// before anyone waited for the commit; a read at a version the cache does
// not hold takes the file's.
func TestGroupHeaderFromCache(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	inc := &klaxon.Incident{ID: "1", Group: "g", State: klaxon.StateTriggered, Summary: "committed"}
	q, err := s.Queue(ctx, klaxon.Commit{Group: "g", Open: "1", Incidents: []*klaxon.Incident{inc}}, nil, nil)
	require.NoError(t, err)
	<-q.Done() // not Wait: the writer alone fed the cache

	behind := *inc
	behind.Summary = "written behind the cache"
	b, err := json.Marshal(&behind)
	require.NoError(t, err)
	require.NoError(t, s.w.do(ctx, true, "", func(tx *txn) error { return tx.Bucket(bucketIncidents).Put(incidentKey("1"), b) }))
	g, err := s.Group(ctx, "g", nil)
	require.NoError(t, err)
	require.Equal(t, "committed", g.Open.Summary, "the header the writer handed the cache")

	require.NoError(t, s.w.do(ctx, true, "", func(tx *txn) error { return putGroup(tx, "g", 2, "1") }))
	g, err = s.Group(ctx, "g", nil)
	require.NoError(t, err)
	require.Equal(t, "written behind the cache", g.Open.Summary, "a version the cache does not hold is the file's")
}

// TestWriteFailureIsUnavailable: a transaction the file cannot take (a
// full disk) fails its commits with ErrUnavailable, which senders retry,
// and the store is not ready until a write succeeds again.
func TestWriteFailureIsUnavailable(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	require.NoError(t, s.Ping(ctx))

	var full atomic.Bool
	s.w.fault = func([]byte) error {
		if full.Load() {
			return syscall.ENOSPC
		}
		return nil
	}
	full.Store(true)
	inc := &klaxon.Incident{ID: "1", Group: "g", State: klaxon.StateTriggered}
	err := s.Commit(ctx, klaxon.Commit{Group: "g", Open: "1", Incidents: []*klaxon.Incident{inc}})
	require.ErrorIs(t, err, klaxon.ErrUnavailable)
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.ErrorIs(t, s.Ping(ctx), klaxon.ErrUnavailable, "not ready while it cannot write")
	g, err := s.Group(ctx, "g", nil)
	require.NoError(t, err)
	require.Zero(t, g.Version, "nothing written")

	full.Store(false)
	require.NoError(t, s.Ping(ctx), "ready again once a write succeeds")
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Open: "1", Incidents: []*klaxon.Incident{inc}}))
}

// TestReadyNeedsRoomForWhatFailed: on a disk with room for small
// frames only, a commit of many alerts fails, and the store is not ready
// until a frame as big fits again, though its own probe and other small
// commits still fit: a replica whose storm's commits fail is not ready.
func TestReadyNeedsRoomForWhatFailed(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	room := diskRoom(s)
	big := bigCommit()
	room.Store(4096)
	err := s.Commit(ctx, big)
	require.ErrorIs(t, err, klaxon.ErrUnavailable)
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.ErrorIs(t, s.Ping(ctx), klaxon.ErrUnavailable, "a small probe would fit, the frame that failed does not")

	require.NoError(t, s.Commit(ctx, storetest.NewIncidentCommit(2, time.Now())), "a small commit still fits")
	require.ErrorIs(t, s.Ping(ctx), klaxon.ErrUnavailable, "and does not make the store ready")

	room.Store(math.MaxInt64)
	require.NoError(t, s.Ping(ctx), "ready once a frame as big fits again")
	require.NoError(t, s.Commit(ctx, big))
}

// diskRoom makes s's log refuse, as a full disk, a frame bigger than
// the room it returns, which starts unbounded.
func diskRoom(s *Store) *atomic.Int64 {
	room := new(atomic.Int64)
	room.Store(math.MaxInt64)
	s.w.fault = func(payload []byte) error { // the syncer's goroutine only
		if int64(len(payload)) > room.Load() {
			return syscall.ENOSPC
		}
		return nil
	}
	return room
}

// bigCommit opens an incident of 200 alerts: a frame far past 4 KB.
func bigCommit() klaxon.Commit {
	c := storetest.NewIncidentCommit(1, time.Now())
	inc := c.Incidents[0]
	for i := range 200 {
		key := "am/big-" + strconv.Itoa(i)
		inc.Changed = append(inc.Changed, klaxon.AlertState{Alert: klaxon.Alert{Key: key, Integration: "am", Status: klaxon.Firing,
			Summary: "one of two hundred alerts that make a big frame"}, Count: 1})
		c.Index = append(c.Index, key)
	}
	return c
}

// TestReadyAfterCheckpoint: while checkpoints fail (the file cannot
// grow), the store is not ready, though the log still takes frames, its
// probe's among them; once a checkpoint succeeds, it is.
func TestReadyAfterCheckpoint(t *testing.T) {
	s, _ := openWith(t, func(w *writer) { w.checkpointBytes, w.every = 1, 10*time.Millisecond })
	ctx := t.Context()
	var full atomic.Bool
	full.Store(true)
	tried := make(chan struct{}, 1)
	fault := func() error {
		select {
		case tried <- struct{}{}:
		default:
		}
		if full.Load() {
			return syscall.ENOSPC
		}
		return nil
	}
	s.w.checkpointFault.Store(&fault)
	require.NoError(t, s.Commit(ctx, storetest.NewIncidentCommit(1, time.Now())), "answered once in the log")
	<-tried
	require.Eventually(t, func() bool { return s.w.failedCheckpoint.Load() != nil }, testTimeout, tick)
	require.ErrorIs(t, s.Ping(ctx), klaxon.ErrUnavailable, "its probe is durable in the log; the file takes no checkpoint")
	require.NoError(t, s.Commit(ctx, storetest.NewIncidentCommit(2, time.Now())))
	require.ErrorIs(t, s.Ping(ctx), klaxon.ErrUnavailable)

	full.Store(false)
	require.Eventually(t, func() bool { return s.Ping(ctx) == nil }, testTimeout, tick, "ready once a checkpoint succeeds")
}

// TestReadyNeedsBoth: a frame that failed and a checkpoint that failed
// are each ended by their own kind alone: a checkpoint that succeeds
// while the storm's frames still do not fit leaves the store not ready.
func TestReadyNeedsBoth(t *testing.T) {
	s, _ := openWith(t, func(w *writer) { w.checkpointBytes, w.every = 1, 10*time.Millisecond })
	ctx := t.Context()
	room := diskRoom(s)
	var full atomic.Bool // the file takes no checkpoint
	fault := func() error {
		if full.Load() {
			return syscall.ENOSPC
		}
		return nil
	}
	s.w.checkpointFault.Store(&fault)

	big := bigCommit()
	room.Store(4096)
	full.Store(true)
	require.ErrorIs(t, s.Commit(ctx, big), syscall.ENOSPC)
	require.NoError(t, s.Commit(ctx, storetest.NewIncidentCommit(2, time.Now())), "a small commit still fits, for a checkpoint to fail")
	require.Eventually(t, func() bool { return s.w.failedCheckpoint.Load() != nil }, testTimeout, tick)

	full.Store(false)
	require.Eventually(t, func() bool { return s.w.failedCheckpoint.Load() == nil }, testTimeout, tick, "a checkpoint succeeds")
	require.ErrorIs(t, s.Ping(ctx), klaxon.ErrUnavailable, "the frame that failed does not fit yet")

	room.Store(math.MaxInt64)
	require.NoError(t, s.Ping(ctx), "ready once a frame as big fits again")
}

// TestOpenReleasesClaims: the claims a file holds end when it is opened
// again (only one process holds the file, so their holder stopped): a
// timer claimed before a crash is claimed again at once, not once its
// lease ends, and the old claim is lost to its holder.
func TestOpenReleasesClaims(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	ctx := t.Context()
	now := time.Now()
	s, err := Open(path)
	require.NoError(t, err)
	c := storetest.NewIncidentCommit(1, now)
	require.NoError(t, s.Commit(ctx, c))
	at := c.Timers[0].Due
	held, _, err := s.Claim(ctx, at, 15*time.Second, 10)
	require.NoError(t, err)
	require.Len(t, held, 1)
	again, _, err := s.Claim(ctx, at, 15*time.Second, 10)
	require.NoError(t, err)
	require.Empty(t, again, "leased while the store is open")
	require.NoError(t, s.Close())

	s, err = Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	again, _, err = s.Claim(ctx, at, 15*time.Second, 10)
	require.NoError(t, err)
	require.Len(t, again, 1, "claimed again at once after a restart")
	require.Equal(t, c.Open, again[0].Incident)
	lost, err := s.Renew(ctx, at, 15*time.Second, held)
	require.NoError(t, err)
	require.Equal(t, []string{c.Open}, lost, "the claim from before the restart is gone")
}

// TestCallbacksExpire: a callback recorded for a day is new again after
// it, and the expired entries are dropped.
func TestCallbacksExpire(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		at    time.Duration
		first bool
	}{{0, true}, {23 * time.Hour, false}, {25 * time.Hour, true}, {26 * time.Hour, false}} {
		first, err := s.FirstTime(ctx, "sms:SM1", now.Add(tc.at), 24*time.Hour)
		require.NoError(t, err)
		require.Equal(t, tc.first, first, "delivery %d", i+1)
	}
	require.NoError(t, s.view(func(tx *txn) error {
		require.Equal(t, 1, keys(t, tx.Bucket(bucketCallbacks)))
		require.Equal(t, 1, keys(t, tx.Bucket(bucketCallbackExpiry)), "the expired entry is gone")
		return nil
	}))
}

// TestIncidentIDBlocks: one write reserves idBlock IDs; the next block is
// reserved once they are handed out, and a reopened file skips what the
// last process reserved and did not hand out.
func TestIncidentIDBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := Open(path)
	require.NoError(t, err)
	reserved := func() uint64 {
		var n uint64
		require.NoError(t, s.view(func(tx *txn) error { n = tx.Bucket(bucketIDs).Sequence(); return nil }))
		return n
	}
	for i := 1; i <= idBlock; i++ {
		id, err := s.NextIncidentID(t.Context())
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(i), id)
		require.Equal(t, uint64(idBlock), reserved(), "one write for the block")
	}
	id, err := s.NextIncidentID(t.Context())
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(idBlock+1), id)
	require.Equal(t, uint64(2*idBlock), reserved())
	require.NoError(t, s.Close())

	s, err = Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	id, err = s.NextIncidentID(t.Context())
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(2*idBlock+1), id, "after a reopen, past every ID reserved")
}

// keys counts the keys of b. (A bucket's Stats read only the pages of
// the file, not what the open transaction holds.)
func keys(t *testing.T, b *bucket) int {
	n := 0
	require.NoError(t, b.ForEach(func(_, _ []byte) error { n++; return nil }))
	return n
}

// TestCutShort: a file cut short (a copy stopped halfway) is refused with
// an error that says so. bbolt read past its end as it rebuilt its free
// list at open, and the process died of a SIGBUS. A file cut inside its
// meta pages is refused by bbolt itself.
func TestCutShort(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := Open(path)
	require.NoError(t, err)
	for i := range 40 {
		require.NoError(t, s.Commit(t.Context(), storetest.NewIncidentCommit(int64(i+1), time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC))))
	}
	require.NoError(t, s.Close())
	full, err := os.ReadFile(path)
	require.NoError(t, err)
	f, err := os.Open(path)
	require.NoError(t, err)
	m, ok := readBoltMeta(f, 0)
	require.NoError(t, f.Close())
	require.True(t, ok)
	used := int(m.pgid) * int(m.pageSize) // bbolt grows the file ahead of it
	require.LessOrEqual(t, used, len(full))
	for _, n := range []int{100, 4096, 8192, used / 2, used - 1} {
		cut := filepath.Join(t.TempDir(), "k.db")
		require.NoError(t, os.WriteFile(cut, full[:n], 0o600))
		_, err := Open(cut)
		require.Error(t, err, "cut to %d bytes", n)
		if n >= 8192 {
			require.ErrorContains(t, err, "the file is cut short")
		}
	}
}
