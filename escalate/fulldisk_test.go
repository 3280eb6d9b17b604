package escalate_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// fullStore is the embedded store on a full disk, as it is once its
// file cannot grow (a checkpoint that fails): it reads what it holds,
// and refuses every write, Ping included.
type fullStore struct {
	klaxon.Store
	full    atomic.Bool
	commits atomic.Int64 // tried
}

func (s *fullStore) err() error {
	if s.full.Load() {
		return fmt.Errorf("write the file: %w: checkpoint: %w", klaxon.ErrUnavailable, syscall.ENOSPC)
	}
	return nil
}

func (s *fullStore) Commit(ctx context.Context, c klaxon.Commit) error {
	s.commits.Add(1)
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.Commit(ctx, c)
}

func (s *fullStore) Claim(ctx context.Context, now time.Time, lease time.Duration, max int) ([]klaxon.Timer, time.Time, error) {
	if err := s.err(); err != nil {
		return nil, time.Time{}, err
	}
	return s.Store.Claim(ctx, now, lease, max)
}

func (s *fullStore) Renew(ctx context.Context, now time.Time, lease time.Duration, timers []klaxon.Timer) ([]string, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.Renew(ctx, now, lease, timers)
}

func (s *fullStore) Ping(ctx context.Context) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.Ping(ctx)
}

// TestFullDiskLeavesPagesNotStarted: as TestStoreDownLeavesPagesNotStarted,
// but the store still reads while it cannot write (the embedded store on
// a full disk). A page that gets its channel then could not be put on
// record, so it must not start: were it sent, the next start (an
// operator's restart while the disk is still full) sends it again. In
// the drill, 479 pages went out in the 0.33 s after the first failed
// checkpoint, none of them recorded, and all 479 went out again after a
// kill -9 and restart.
func TestFullDiskLeavesPagesNotStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fs *fullStore
		sc := newSlowChannel(t, slog.New(slog.DiscardHandler), func(st klaxon.Store) klaxon.Store {
			fs = &fullStore{Store: st}
			return fs
		})
		stop := sync.OnceValue(sc.stop)
		t.Cleanup(func() { fs.full.Store(false); _ = stop() }) // the engine ends, whatever failed

		fs.full.Store(true) // the disk fills while the first page is with its provider
		close(sc.g.release)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.Equal(t, []string{"bob/email"}, sc.g.got(), "the page waiting for its channel was not sent: it could not be put on record")

		fs.full.Store(false) // room again
		time.Sleep(time.Minute)
		synctest.Wait()
		require.NoError(t, stop())
		require.Equal(t, []string{"bob/email", "bob/email"}, sc.g.got(), "each page once")
		require.True(t, paged(t, sc.st, sc.first))
		require.True(t, paged(t, sc.st, sc.second))
	})
}
