// Package embedded is Klaxon's default store: one durable bbolt file on a
// single node. Every commit is fsynced before it returns, so an alert that
// was accepted survives a crash.
package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/internal/groupcache"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"go.opentelemetry.io/otel/trace"
)

// Buckets, all at the top level of the file.
var (
	// groups: group key → version (8 bytes) + open incident ID.
	bucketGroups = []byte("groups")
	// incidents: incidentKey(id) → incident header as JSON.
	bucketIncidents = []byte("incidents")
	// alert_seen: incidentKey(id) + alert key → the alert's seen record:
	// what a new occurrence changes, with the digest of its details
	// record (alertrecord.EncodeSeenDigest; a partial report's and those
	// written before it carry none: alertrecord.EncodeSeen).
	bucketAlertSeen = []byte("alert_seen")
	// alert_details: the same key → the rest of the alert's record, which
	// changes rarely (alertrecord.EncodeDetails). Kept apart, a storm of
	// new occurrences rewrites pages of small seen records only.
	bucketAlertDetails = []byte("alert_details")
	// events: incidentKey(id) + n (8 bytes) → the n-th timeline event.
	bucketEvents = []byte("events")
	// open: incidentKey(id) → empty, for triggered and acknowledged incidents.
	bucketOpen = []byte("open")
	// paged: user + 0 + incidentKey(id) → empty, for each user a commit
	// paged for incident id (klaxon.Commit.Paged): PagedIncidents.
	bucketPaged = []byte("paged")
	// alerts: alert key → group key.
	bucketAlerts = []byte("alerts")
	// timers: incident ID → due (8 bytes), to find its entry in bucketDue.
	bucketTimers = []byte("timers")
	// due: due (8 bytes) + incident ID → lease end (8 bytes) + group key.
	bucketDue = []byte("due")
	// claims: incident ID → lease end (8 bytes) + claim token, while a
	// claim is held; bucketDue keeps a copy of the lease end for Claim.
	bucketClaims = []byte("claims")
	// ids: only its sequence is used, by NextIncidentID.
	bucketIDs = []byte("ids")
	// closed: group key → the ID of its incident that a commit last
	// resolved while it was the group's open one.
	bucketClosed = []byte("closed")
	// meta: "layout" → the layout version of the file (layout.go).
	bucketMeta = []byte("meta")

	buckets = [][]byte{bucketGroups, bucketIncidents, bucketAlertSeen, bucketAlertDetails, bucketEvents, bucketOpen,
		bucketPaged, bucketAlerts, bucketTimers, bucketDue, bucketClaims, bucketIDs, bucketMeta, bucketMoves, bucketClosed, bucketUnindex}
)

// openTimeout bounds the wait for the file lock, so that a second process
// on the same file fails instead of hanging.
const openTimeout = time.Second

// Store is a klaxon.Store in one bbolt file. It is safe for concurrent
// use; bbolt runs one writer at a time and readers alongside it.
type Store struct {
	db    *bolt.DB
	w     *writer
	cache *groupcache.Cache
	ids   ids
	// closeOnce closes the log and the file.
	closeOnce sync.Once
}

// cachedGroups bounds the decoded open incidents a store keeps. It does
// not keep their alerts, as the Redis store does to save round trips:
// here a read of them is a B+tree lookup, holding a storm's alerts
// raised the memory after scenario (b) of make load above
// Alertmanager's, and marking their strings cost the garbage collector
// more CPU than the lookups they spared (docs/benchmarks.md).
const cachedGroups = 8192

var (
	_ klaxon.Store       = (*Store)(nil)
	_ klaxon.CommitQueue = (*Store)(nil)
)

// Open opens the store at path, creating its folder and file if needed.
// It fails after a second if another process holds the file.
func Open(path string, opts ...Option) (*Store, error) {
	return open(path, openTimeout, func(w *writer) {
		for _, o := range opts {
			o(w)
		}
	})
}

// Option configures a store.
type Option func(*writer)

// WithTracing makes a span of each batch the writer makes durable (the
// log's append and fdatasync), linked to the spans of the writes it
// holds, with tp.
func WithTracing(tp trace.TracerProvider) Option {
	return func(w *writer) { w.tracer = tp.Tracer("github.com/klaxonhq/klaxon/store/embedded") }
}

// mmapAhead is how much of the file bbolt maps at open (see open): 1
// GiB on 64-bit platforms but Windows, where bbolt grows the file itself
// to the size it maps; bbolt's default (0) there and where the address
// space is short.
var mmapAhead = func() int {
	if runtime.GOOS == "windows" || strconv.IntSize < 64 {
		return 0
	}
	return 1 << 30
}()

// open is Open with a lock timeout, and set, when not nil, called with
// the writer before it starts: for tests.
func open(path string, timeout time.Duration, set func(*writer)) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := cutShort(path); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// The free list is not written at each commit (etcd's setting): its
	// size grows with the file, and writing it made a commit to a big
	// incident twice the cost of one to a small one. Open rebuilds it by
	// a scan of the file instead.
	//
	// The file is mapped mmapAhead ahead (address space, not memory): each
	// time bbolt maps a growing file again, the checkpoint's transaction
	// waits for every read of the file to end, and copies every key and
	// value it holds out of the old mapping. A file past it is mapped
	// again as it grows, as before.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoFreelistSync: true, FreelistType: bolt.FreelistMapType, InitialMmapSize: mmapAhead})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: locked by another process?: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// A newer Klaxon's file is refused before its log is touched: the log
	// holds that Klaxon's answered batches, which this one would replay
	// into the file, or reset.
	if err := db.View(func(tx *bolt.Tx) error { return newer(tx) }); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	log, spare, pos, err := recoverLog(db, path+"-wal")
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		if err := upgrade(tx); err != nil {
			return err
		}
		return releaseClaims(&txn{tx: tx})
	}); err != nil {
		_ = log.close()
		_ = spare.close()
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w := newWriter(db, log, spare, pos)
	if set != nil {
		set(w)
	}
	go w.run()
	return &Store{db: db, w: w, cache: groupcache.New(cachedGroups, false)}, nil
}

// recoverLog opens the two log files at path (see wal) and writes into
// the file the batches they hold beyond the file's last checkpoint:
// those answered before a crash. It returns the logs, emptied, the one
// to write first, and the position of the last batch.
func recoverLog(db *bolt.DB, path string) (log, spare *wal, pos uint64, err error) {
	paths := [2]string{path, path + "2"}
	var logs [2]*wal
	var data [2][]byte
	for i, p := range paths {
		if logs[i], data[i], err = openLog(p); err != nil {
			for _, l := range logs[:i] {
				_ = l.close()
			}
			return nil, nil, 0, err
		}
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			for _, d := range data {
				if n, _ := readFrames(d, func(uint64, []byte) error { return nil }); n > 0 {
					return fmt.Errorf("a log beside a file that has no meta bucket (layout 1, or new): restore a backup of the file and its log")
				}
			}
			return nil // a new file, or one a version before the log wrote
		}
		if v := meta.Get(logKey); len(v) == 8 {
			pos = binary.BigEndian.Uint64(v)
		}
		// A checkpoint on its way when the process ended leaves the
		// batches it held in one file and those after in the other.
		order := []int{0, 1}
		if firstPast(data[1], pos) < firstPast(data[0], pos) {
			order = []int{1, 0}
		}
		var whole [2]int
		for _, i := range order {
			last, n, err := replayLog(&txn{tx: tx}, data[i], pos)
			if err != nil {
				return err
			}
			pos, whole[i] = last, n
		}
		for i, d := range data {
			if at, ok := laterFrame(d[whole[i]:], pos); ok {
				return fmt.Errorf("log %s: batch %d is damaged, and whole batches follow it from %d on, answered before the process ended: "+
					"restore a backup of the file and its logs, or move %s aside to open without them (they are lost then)", paths[i], pos+1, at, paths[i])
			}
		}
		for i, d := range data {
			if torn(d[whole[i]:], pos) {
				// Most often the frame a crash cut short; but a frame
				// damaged in the middle of the log would end it early.
				// What follows the last whole frame is kept for a look,
				// in place of the last such tail.
				if err := os.WriteFile(paths[i]+".tail", d[whole[i]:], 0o600); err != nil {
					return fmt.Errorf("keep what follows the log's last whole frame: %w", err)
				}
			}
		}
		return meta.Put(logKey, binary.BigEndian.AppendUint64(nil, pos))
	})
	for _, l := range logs {
		if err == nil {
			err = l.reset()
		}
	}
	if err != nil {
		for _, l := range logs {
			_ = l.close()
		}
		return nil, nil, 0, fmt.Errorf("recover log: %w", err)
	}
	return logs[0], logs[1], pos, nil
}

// firstPast returns the position of the first frame of data past after;
// math.MaxUint64 if there is none.
func firstPast(data []byte, after uint64) uint64 {
	first := uint64(math.MaxUint64)
	_, _ = readFrames(data, func(pos uint64, _ []byte) error {
		if pos > after && first == math.MaxUint64 {
			first = pos
		}
		return nil
	})
	return first
}

// probeKey is where Ping's probe writes, in the meta bucket.
var probeKey = []byte("probe")

// Ping reports an error once the store is closed, or while it cannot
// write (see failure).
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	if err := s.view(func(*txn) error { return nil }); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	// After a frame failed, the store is ready again only once a frame
	// like it is durable: a probe of its own, as big as the frame that
	// failed (up to maxNeed), tells. It leaves nothing in the file but
	// its time. A checkpoint that failed is tried again on its own.
	if f := s.w.failedFrame.Load(); f != nil {
		err := s.update(ctx, true, func(tx *txn) error {
			meta := tx.Bucket(bucketMeta)
			if err := meta.Put(probeKey, make([]byte, f.need)); err != nil {
				return err
			}
			return meta.Put(probeKey, []byte(time.Now().UTC().Format(time.RFC3339)))
		})
		if err != nil {
			return fmt.Errorf("ping store: cannot write: %w", err)
		}
	}
	for _, f := range []*failure{s.w.failedFrame.Load(), s.w.failedCheckpoint.Load()} {
		if f != nil {
			return fmt.Errorf("ping store: cannot write: %w", f.err)
		}
	}
	return nil
}

// Close waits for the writes in flight, fails those still queued, writes
// what the log holds into the file, and closes both. Closing twice is
// harmless.
func (s *Store) Close() error {
	err := s.w.close()
	s.closeOnce.Do(func() {
		err = errors.Join(err, s.w.log.close(), s.w.spare.close(), s.db.Close())
	})
	if err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// putTime encodes t as 8 big-endian bytes that sort in time order, also
// before 1970. The zero encoding stands for "never" (math.MinInt64).
func putTime(b []byte, unixNano int64) {
	binary.BigEndian.PutUint64(b, uint64(unixNano)^(1<<63))
}

// getTime decodes what putTime encoded.
func getTime(b []byte) int64 {
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
}
