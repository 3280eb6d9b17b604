package app

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestArmUntil: the arming of the heartbeats that failed at start is
// tried again, 100ms after, then twice as long each time up to retryMax,
// until a try succeeds, and no more after it; or until the server
// stops, whose context ends the tries.
func TestArmUntil(t *testing.T) {
	down := fmt.Errorf("arm heartbeat backups: redis %w: connection refused", klaxon.ErrUnavailable)
	for _, tc := range []struct {
		name  string
		fails int           // tries that fail before one succeeds
		stop  time.Duration // when the server stops (0: never)
		want  []time.Duration
	}{
		{"until it succeeds", 7, 0, []time.Duration{
			100 * time.Millisecond, 300 * time.Millisecond, 700 * time.Millisecond, 1500 * time.Millisecond,
			3100 * time.Millisecond, 6300 * time.Millisecond, 11300 * time.Millisecond, 16300 * time.Millisecond}},
		{"until the server stops", 1000, 2 * time.Second, []time.Duration{
			100 * time.Millisecond, 300 * time.Millisecond, 700 * time.Millisecond, 1500 * time.Millisecond}},
		{"a server stopped at once", 1000, time.Millisecond, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tc.stop > 0 {
					time.AfterFunc(tc.stop, cancel)
				}
				start := time.Now()
				var tries []time.Duration
				arm := func(context.Context) error {
					tries = append(tries, time.Since(start))
					if len(tries) <= tc.fails {
						return down
					}
					return nil
				}
				done := make(chan struct{})
				go func() {
					armUntil(ctx, arm, slog.New(slog.DiscardHandler))
					close(done)
				}()
				time.Sleep(time.Hour)
				synctest.Wait()
				select {
				case <-done:
				default:
					t.Fatal("armUntil still runs an hour on")
				}
				require.Equal(t, tc.want, tries)
			})
		})
	}
}
