package app

import (
	"context"
	"log/slog"
	"time"
)

// armRetry bounds the wait between two tries of armUntil.
const armRetry = 5 * time.Second

// armUntil tries arm again until a try succeeds or ctx ends, each failure
// logged: the arming of the heartbeats at start, which failed as the
// store dropped. It waits 100ms before the first try, twice as long
// before each next one, armRetry at most.
func armUntil(ctx context.Context, arm func(context.Context) error, log *slog.Logger) {
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, armRetry) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		err := arm(ctx)
		if err == nil {
			log.Info("heartbeats armed")
			return
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("arm heartbeats: trying again", "in", min(2*wait, armRetry), "err", err)
	}
}
