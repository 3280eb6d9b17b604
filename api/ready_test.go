package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/internal/syncbuf"
)

// probed is a store whose Ping counts the probes, fails with err when it
// is set, and waits for release when it is set.
type probed struct {
	klaxon.Store
	pings   atomic.Int32
	mu      sync.Mutex
	err     error
	release chan struct{}
}

func (p *probed) Ping(ctx context.Context) error {
	p.pings.Add(1)
	p.mu.Lock()
	err, release := p.err, p.release
	p.mu.Unlock()
	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

func (p *probed) fail(err error) { p.mu.Lock(); p.err = err; p.mu.Unlock() }

func readyz(s *Server) (int, string) {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	return rec.Code, rec.Body.String()
}

// TestReadyzCachesItsProbe: /readyz probes the store at most once a
// second, whatever the hits; refused, it says only that the store is not
// ready, and logs why once.
func TestReadyzCachesItsProbe(t *testing.T) {
	st := &probed{}
	clock := fakeclock.New(time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC))
	var logs syncbuf.Buffer
	s := New(Options{Store: st, Now: clock.Now, Log: slog.New(slog.NewTextHandler(&logs, nil)), Registry: prometheus.NewRegistry()})

	for range 5 {
		code, body := readyz(s)
		require.Equal(t, http.StatusOK, code, body)
	}
	require.EqualValues(t, 1, st.pings.Load(), "one probe for the hits of a second")
	clock.Add(readyFor - time.Nanosecond)
	readyz(s)
	require.EqualValues(t, 1, st.pings.Load())
	clock.Add(time.Nanosecond)
	readyz(s)
	require.EqualValues(t, 2, st.pings.Load(), "a probe again after a second")

	// The store cannot write: refused once the last result is a second
	// old, with nothing of the store's error, which is logged once.
	st.fail(errors.New("write probe: open /var/lib/klaxon/klaxon.db: no space left on device"))
	code, _ := readyz(s)
	require.Equal(t, http.StatusOK, code, "the last probe still answers")
	for range 3 {
		clock.Add(readyFor)
		for range 3 {
			code, body := readyz(s)
			require.Equal(t, http.StatusServiceUnavailable, code)
			require.Equal(t, `{"error":"not ready: the store cannot be reached or cannot write"}`+"\n", body)
			require.NotContains(t, body, "no space")
		}
	}
	require.EqualValues(t, 5, st.pings.Load())
	require.Equal(t, 1, strings.Count(logs.String(), "no space left on device"), logs.String())
	require.Equal(t, 1, strings.Count(logs.String(), `msg="not ready"`))

	st.fail(nil)
	clock.Add(readyFor)
	code, _ = readyz(s)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, logs.String(), `msg="ready again"`)
}

// TestReadyzSharesItsProbe: hits that come while a probe runs wait for
// it and take its result; none starts a probe of its own.
func TestReadyzSharesItsProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		st := &probed{release: release}
		s := New(Options{Store: st, Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
		const hits = 20
		codes := make(chan int, hits)
		for range hits {
			go func() {
				code, _ := readyz(s)
				codes <- code
			}()
		}
		synctest.Wait() // every hit is waiting: the first for its probe, the others for it
		require.EqualValues(t, 1, st.pings.Load())
		require.Empty(t, codes)
		close(release)
		for range hits {
			require.Equal(t, http.StatusOK, <-codes)
		}
		require.EqualValues(t, 1, st.pings.Load())
	})
}
