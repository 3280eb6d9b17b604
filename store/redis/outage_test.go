package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/porttest"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// TestOutage stops Redis under an open store: every call fails with
// ErrUnavailable (so that the HTTP edge answers 503 and senders retry),
// and the same store works again once Redis is back, with what was
// committed before (the server writes an append-only file).
func TestOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--appendonly", "yes")
	s := open(t, Options{Addrs: []string{srv.Addr()}})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	id := commitIncident(t, s, "g", "am/a")

	srv.Stop(t)
	calls := map[string]func() error{
		"Ping":           func() error { return s.Ping(ctx) },
		"Group":          func() error { _, err := s.Group(ctx, "g", nil); return err },
		"Commit":         func() error { return s.Commit(ctx, klaxon.Commit{Group: "g", Version: 1, Index: []string{"am/b"}}) },
		"Claim":          func() error { _, _, err := s.Claim(ctx, t0, time.Minute, 10); return err },
		"NextIncidentID": func() error { _, err := s.NextIncidentID(ctx); return err },
		"Incident":       func() error { _, err := s.Incident(ctx, id); return err },
		"Incidents":      func() error { _, err := s.Incidents(ctx, klaxon.IncidentFilter{}); return err },
		"AlertGroups":    func() error { _, err := s.AlertGroups(ctx, []string{"am/a"}); return err },
		"Persistence":    func() error { _, _, err := s.Persistence(ctx); return err },
	}
	// Concurrently: until go-redis's pool has seen enough dial errors,
	// each call redials for a second or two before it gives up.
	errs := make(map[string]error, len(calls))
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for name, call := range calls {
		wg.Go(func() {
			err := call()
			mu.Lock()
			errs[name] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	for name, err := range errs {
		require.ErrorIs(t, err, klaxon.ErrUnavailable, name)
	}

	srv.Restart(t)
	// go-redis redials in the background once its pool saw enough dial
	// errors, about once a second.
	require.Eventually(t, func() bool { return s.Ping(ctx) == nil }, 5*time.Second, 50*time.Millisecond, "the same store reconnects")
	g, err := s.Group(ctx, "g", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(1), g.Version)
	require.Equal(t, id, g.Open.ID)
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "g", Version: 1, Open: id, Index: []string{"am/b"}}))
	groups, err := s.AlertGroups(ctx, []string{"am/a", "am/b"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"am/a": "g", "am/b": "g"}, groups)
}

func TestOpenUnavailable(t *testing.T) {
	t.Parallel()
	_, err := Open(t.Context(), Options{Addrs: []string{porttest.Refused(t)}})
	require.ErrorIs(t, err, klaxon.ErrUnavailable)
}

// redisError stands for an error reply of Redis.
type redisError string

func (e redisError) Error() string { return string(e) }
func (redisError) RedisError()     {}

func TestUnavailable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{io.EOF, true},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{context.DeadlineExceeded, true},
		{redis.ErrClosed, true},
		{redis.ErrPoolTimeout, true},
		{redisError("LOADING Redis is loading the dataset in memory"), true},
		{redisError("CLUSTERDOWN The cluster is down"), true},
		{redisError("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{redisError("READONLY You can't write against a read only replica."), true},
		{redisError("MASTERDOWN Link with MASTER is down"), true},
		{redisError("BUSY Redis is busy running a script."), true},
		{redisError("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk."), true},
		{redisError("OOM command not allowed when used memory > 'maxmemory'."), true},
		{errors.New("redis: all sentinels specified in configuration are unreachable"), true},
		{redisError("ERR Script attempted to access a non local key in a cluster node script: 1b22, on @user_script:184."), true},
		{context.Canceled, false},
		{redisError("ERR wrong number of arguments"), false},
		{redisError("NOSCRIPT No matching script."), false},
		{redis.Nil, false},
		{klaxon.ErrConflict, false},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			err := classify(tt.err)
			require.Equal(t, tt.want, errors.Is(err, klaxon.ErrUnavailable))
			require.ErrorIs(t, err, tt.err, "the cause stays in the chain")
		})
	}
}

// TestHang: with a Timeout, a call to a Redis that takes connections and
// answers nothing (stopped with SIGSTOP) fails as unavailable by the
// store's own timeout, before the caller's context ends; without one,
// go-redis's 3s read timeout, tried again, outlasts that context. Once
// Redis goes on, the store works again.
func TestHang(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := open(t, Options{Addrs: []string{srv.Addr()}, Timeout: 250 * time.Millisecond})
	t.Cleanup(func() { _ = s.Close() })
	id := commitIncident(t, s, "g", "am/a")

	srv.Pause(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.Group(ctx, "g", nil)
	t.Logf("failed after %v: %v", time.Since(start), err)
	require.ErrorIs(t, err, klaxon.ErrUnavailable)
	require.NoError(t, ctx.Err(), "failed by the store's timeout, not the caller's: %v", err)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "%v", err)

	srv.Resume(t)
	require.Eventually(t, func() bool { return s.Ping(t.Context()) == nil }, 5*time.Second, 50*time.Millisecond)
	g, err := s.Group(t.Context(), "g", nil)
	require.NoError(t, err)
	require.Equal(t, id, g.Open.ID)
}
