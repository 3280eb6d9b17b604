package notify_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

type providerErr struct {
	retry bool
	wait  time.Duration
}

func (e providerErr) Error() string       { return "provider" }
func (e providerErr) Retryable() bool     { return e.retry }
func (e providerErr) Wait() time.Duration { return e.wait }

func TestRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var at []time.Duration
		start := time.Now()
		calls := func(errs ...error) func() error {
			return func() error {
				at = append(at, time.Since(start))
				err := errs[0]
				if len(errs) > 1 {
					errs = errs[1:]
				}
				return err
			}
		}

		require.NoError(t, notify.Retry(t.Context(), 3, 100*time.Millisecond, calls(providerErr{retry: true}, nil)))
		require.Equal(t, []time.Duration{0, 100 * time.Millisecond}, at)

		at, start = nil, time.Now()
		err := notify.Retry(t.Context(), 3, 100*time.Millisecond, calls(providerErr{retry: true}))
		require.ErrorAs(t, err, new(providerErr))
		require.Equal(t, []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond}, at, "backoff doubles; three calls in all")

		at, start = nil, time.Now()
		require.Error(t, notify.Retry(t.Context(), 3, 100*time.Millisecond, calls(providerErr{retry: false})))
		require.Len(t, at, 1, "a final error is not retried")

		at, start = nil, time.Now()
		require.Error(t, notify.Retry(t.Context(), 3, 100*time.Millisecond, calls(errors.New("plain"))))
		require.Len(t, at, 1, "an error that says nothing is final")

		at, start = nil, time.Now()
		_ = notify.Retry(t.Context(), 2, 100*time.Millisecond, calls(providerErr{retry: true, wait: 2 * time.Second}))
		require.Equal(t, []time.Duration{0, 2 * time.Second}, at, "the provider's wait replaces the backoff")

		at, start = nil, time.Now()
		err = notify.Retry(t.Context(), 3, 100*time.Millisecond, calls(providerErr{retry: true, wait: time.Minute}))
		require.Equal(t, []time.Duration{0}, at, "a wait past MaxInlineWait is the caller's: Retry ends at once")
		require.Equal(t, time.Minute, klaxon.WaitOf(err), "and the error says how long")

		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		err = notify.Retry(ctx, 3, 100*time.Millisecond, calls(providerErr{retry: true}))
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorAs(t, err, new(providerErr), "the last error is kept")
	})
	require.True(t, notify.RetryableStatus(0))
	require.True(t, notify.RetryableStatus(429))
	require.True(t, notify.RetryableStatus(503))
	require.False(t, notify.RetryableStatus(400))
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"1", time.Second},
		{" 3 ", 3 * time.Second},
		{"5", 5 * time.Second},
		{"60", time.Minute},
		{"7200", time.Hour},
		{"99999999999999999999", 0},
		{"9223372036854775807", time.Hour},
		{"0", 0},
		{"-1", 0},
		{"soon", 0},
		{now.Add(2 * time.Second).Format(http.TimeFormat), 2 * time.Second},
		{now.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, notify.RetryAfter(tt.in, now))
		})
	}
}
