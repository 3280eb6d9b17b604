package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Retry calls try until it succeeds, fails with an error that is not
// retryable, or has been called attempts times. It waits backoff before the
// second call and twice as long before each next one, or what the error
// asks for (a Wait() time.Duration method, such as a Retry-After). An
// error that asks for more than MaxInlineWait ends Retry at once: the
// caller holds one of its channel's slots, which it gives up, and the
// escalation engine tries the page again no sooner than asked. An error
// is retryable when it has a Retryable() bool method that says so. When
// ctx ends during a wait, Retry returns ctx's error wrapping the last one.
func Retry(ctx context.Context, attempts int, backoff time.Duration, try func() error) error {
	wait := backoff
	for attempt := 1; ; attempt++ {
		err := try()
		if err == nil {
			return nil
		}
		if !Retryable(err) || attempt >= attempts {
			return err
		}
		d := wait
		if w := klaxon.WaitOf(err); w > MaxInlineWait {
			return err
		} else if w > 0 {
			d = w
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w, after %w", ctx.Err(), err)
		case <-timer.C:
		}
		wait *= 2
	}
}

// Retryable reports whether err says, by a Retryable() bool method,
// that the same call may succeed later.
func Retryable(err error) bool {
	var r interface{ Retryable() bool }
	return errors.As(err, &r) && r.Retryable()
}

// MaybeSent reports whether err, a send that failed, says by a
// MaybeSent() bool method that the page may have gone out all the same:
// no answer came to a request that may have reached the provider (a
// timeout), or the provider failed (5xx) after it may have taken it.
func MaybeSent(err error) bool {
	var m interface{ MaybeSent() bool }
	return errors.As(err, &m) && m.MaybeSent()
}

// RetryableStatus reports whether an HTTP provider's answer may change
// if asked again: no answer (0), throttled (429), or its own failure (5xx).
func RetryableStatus(status int) bool {
	return status == 0 || status == http.StatusTooManyRequests || status >= 500
}

// MaxInlineWait is the longest wait Retry takes between two calls when
// an error asks for one (see Retry).
const MaxInlineWait = 5 * time.Second

// MaxRetryAfter caps the wait a provider's Retry-After asks for: a wait
// longer than MaxInlineWait goes to the escalation engine, which tries
// the page again no sooner than asked, up to its longest backoff.
const MaxRetryAfter = time.Hour

// RetryAfter parses a Retry-After value, delay-seconds or an HTTP date,
// into a wait from now of at most MaxRetryAfter; 0 when absent or bad.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		d = MaxRetryAfter
		if n < int64(MaxRetryAfter/time.Second) {
			d = time.Duration(n) * time.Second
		}
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, MaxRetryAfter))
}
