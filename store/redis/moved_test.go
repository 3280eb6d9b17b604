package redis

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// resend runs each commit script twice, as go-redis does when the
// reply of the first was lost on the way back (a connection reset).
type resend struct{ armed atomic.Bool }

func (h *resend) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *resend) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if (cmd.Name() == "evalsha" || cmd.Name() == "eval") && h.armed.CompareAndSwap(true, false) {
			_ = next(ctx, cmd) // ran; its reply lost
		}
		return next(ctx, cmd)
	}
}

func (h *resend) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestMovedSentTwice: on a single server, a commit whose reply was lost,
// and that go-redis sent again, finds itself applied: it still tells the
// moves its first run found, when the entries named its group already.
func TestMovedSentTwice(t *testing.T) {
	s := open(t, Options{Addrs: []string{redistest.Start(t).Addr()}})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	commitIncident(t, s, "A", "am/x")
	h := &resend{}
	s.rdb.AddHook(h)
	h.armed.Store(true)
	var moved []klaxon.Move
	require.NoError(t, s.Commit(ctx, klaxon.Commit{Group: "B", Version: 0, Index: []string{"am/x"}, Moved: &moved}))
	require.False(t, h.armed.Load(), "the script was sent twice")
	groups, err := s.AlertGroups(ctx, []string{"am/x"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"am/x": "B"}, groups, "landed")
	require.Equal(t, []klaxon.Move{{Alert: "am/x", From: "A", Group: "B"}}, moved, "am/x was A's until this commit landed")
}
