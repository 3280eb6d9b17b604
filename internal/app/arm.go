package app

import (
	"context"
	"log/slog"
	"time"
)

// retryMax bounds the wait between two tries of something the store's
// absence failed: opening Redis (openRedis), arming the heartbeats
// (armUntil).
const retryMax = 5 * time.Second

// backoff spaces such tries: 100ms, then twice as long each time,
// retryMax at most.
type backoff struct{ wait time.Duration }

// next is the wait before the next try.
func (b *backoff) next() time.Duration {
	if b.wait == 0 {
		return 100 * time.Millisecond
	}
	return b.wait
}

// sleep waits next, and reports false when ctx ended first.
func (b *backoff) sleep(ctx context.Context) bool {
	d := b.next()
	b.wait = min(2*d, retryMax)
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// armUntil tries arm again until a try succeeds or ctx ends, each failure
// logged: the arming of the heartbeats at start, which failed as the
// store dropped. It waits as backoff says before each try.
func armUntil(ctx context.Context, arm func(context.Context) error, log *slog.Logger) {
	var b backoff
	for b.sleep(ctx) {
		err := arm(ctx)
		if err == nil {
			log.Info("heartbeats armed")
			return
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("arm heartbeats: trying again", "in", b.next(), "err", err)
	}
}
