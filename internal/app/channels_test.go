package app

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/logthin"
	"github.com/klaxonhq/klaxon/internal/syncbuf"
)

// TestRedisLogThinnedOut: go-redis's failed dials while Redis is down
// come dozens a second; the log takes the first, then one a second with
// how many it held back.
func TestRedisLogThinnedOut(t *testing.T) {
	now := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	var logs syncbuf.Buffer
	l := redisLog{log: slog.New(slog.NewTextHandler(&logs, nil)), thin: logthin.New(func() time.Time { return now })}
	for range 50 {
		l.Printf(context.Background(), "redis: %s: failed to dial after %d attempts", "connection pool", 5)
	}
	now = now.Add(time.Second)
	l.Printf(context.Background(), "redis: %s: failed to dial after %d attempts", "connection pool", 5)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2)
	require.Contains(t, lines[0], `msg="redis: connection pool: failed to dial after 5 attempts" unlogged=0`)
	require.Contains(t, lines[1], "unlogged=49")
}
