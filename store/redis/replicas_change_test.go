package redis

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
)

// putChangeAsAPI is api's changeEnqueue on s: a barrier, the change
// (with its digest), the wait, and ForgetChange once answered 2xx.
func putChangeAsAPI(ctx context.Context, s *Store, c klaxon.Change, now time.Time) error {
	wait := s.ChangesBarrier(ctx, c.Integration)
	_, err := s.PutChange(ctx, c, now, klaxon.DefaultChangeBounds)
	if err == nil {
		err = wait(ctx)
	}
	if err == nil {
		err = s.ForgetChange(ctx, c.Integration, c.Digest)
	}
	return err
}

// TestChangeRetryAcrossFailover: a change's wait fails because its
// master was lost (a failover) with the change on no replica. Its
// digest must not tell the promoted master that the change is stored,
// which it never took: the sender's retry, as the 503 asks, must store
// it there, not find the digest, write nothing, and pass its wait (on
// the new master) with the change on no server.
func TestChangeRetryAcrossFailover(t *testing.T) {
	t.Parallel()
	fs := startFrozenSentinel(t, "remfo")
	s := fs.s
	now := time.Now().UTC().Truncate(time.Millisecond)
	c := klaxon.Change{Integration: "deploys", Summary: "v2 out", At: now, Digest: "d1"}

	for _, f := range fs.links {
		f.frozen.Store(true)
	}
	first := make(chan error, 1)
	go func() { first <- putChangeAsAPI(t.Context(), s, c, now) }()
	require.Eventually(t, func() bool {
		list, err := redistest.Do(fs.master.Addr(), "CLIENT", "LIST")
		return err == nil && strings.Contains(list, "cmd=wait")
	}, 5*time.Second, 10*time.Millisecond, "the change is stored and its barrier's WAIT is out")
	fs.master.Kill(t) // the master's host is lost, the change on no replica

	promoted := fs.promoted(t)
	err := <-first
	require.ErrorIs(t, err, klaxon.ErrUnavailable, "the first attempt is answered 503")
	t.Logf("first attempt: %v", err)

	// The sender retries until it is answered 2xx.
	require.Eventually(t, func() bool { return putChangeAsAPI(t.Context(), s, c, now) == nil },
		30*time.Second, 200*time.Millisecond, "the sender's retries are answered 2xx once the promoted master has a replica")
	n, _ := redistest.Do(promoted, "ZCARD", s.changesKey("deploys"))
	require.Equal(t, "1", n, "the retry was answered 202, but the master promoted (%s) holds no change: "+
		"the digest remembered after the failed wait reached it, and the retry wrote nothing", promoted)
}
