package embedded

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/store/storetest"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

var benchNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func benchStore(b *testing.B) (*Store, string) {
	path := filepath.Join(b.TempDir(), "klaxon.db")
	s, err := Open(path)
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	return s, path
}

// BenchmarkCommit commits one new incident of 5 alerts per op, each in its
// own group, with its index entries and a timer: one fsync per op.
func BenchmarkCommit(b *testing.B) {
	s, path := benchStore(b)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		i++
		require.NoError(b, s.Commit(ctx, storetest.NewIncidentCommit(int64(i), benchNow)))
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "commits/s")
	// The file's high-water mark of pages (freed pages included) once a
	// checkpoint holds every commit, not its length: the file grows
	// ahead of them, in steps of bbolt's AllocSize.
	require.NoError(b, s.Close())
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	require.NoError(b, err)
	defer db.Close()
	require.NoError(b, db.View(func(tx *bolt.Tx) error {
		b.ReportMetric(float64(tx.Size())/float64(i), "filebytes/commit")
		return nil
	}))
}

// BenchmarkClaim claims from 10,000 timers (storetest.BenchClaim).
func BenchmarkClaim(b *testing.B) {
	storetest.BenchClaim(b, func(b *testing.B) klaxon.Store {
		s, _ := benchStore(b)
		return s
	})
}

// BenchmarkLogAppend appends one frame of a 200-byte record per op and
// makes it durable, as a batch of one write does: to a log that grows
// with each append (the log before it was written ahead) and to one
// written ahead in zeros, which the appends overwrite. A checkpoint's
// reset comes every checkpointBytes of frames, as the file's would.
func BenchmarkLogAppend(b *testing.B) {
	payload := make([]byte, 200)
	for _, ahead := range []bool{false, true} {
		name := "grows"
		if ahead {
			name = "written-ahead"
		}
		b.Run(name, func(b *testing.B) {
			l, _, err := openLog(filepath.Join(b.TempDir(), "klaxon.db-wal"))
			require.NoError(b, err)
			b.Cleanup(func() { _ = l.close() })
			restart := func() {
				if ahead {
					require.NoError(b, l.reset())
					return
				}
				require.NoError(b, l.f.Truncate(0)) // as the log was emptied before
				l.size, l.allocated = 0, 0
			}
			restart()
			var pos uint64
			for b.Loop() {
				pos++
				if pos%uint64(checkpointBytes/(len(payload)+frameHeader)) == 0 {
					b.StopTimer()
					restart()
					b.StartTimer()
				}
				require.NoError(b, l.write(pos, payload, l.size))
				l.appended(len(payload))
			}
		})
	}
}

// BenchmarkCloseStorm resolves an incident of 100,000 alerts beside an
// urgent prober (storetest.BenchCloseStorm).
func BenchmarkCloseStorm(b *testing.B) {
	storetest.BenchCloseStorm(b, func(b *testing.B) klaxon.Store {
		s, _ := benchStore(b)
		return s
	})
}

// BenchmarkListStorm lists 20,000 incidents' headers beside an urgent
// prober (storetest.BenchListStorm).
func BenchmarkListStorm(b *testing.B) {
	storetest.BenchListStorm(b, func(b *testing.B) klaxon.Store {
		s, _ := benchStore(b)
		return s
	})
}
