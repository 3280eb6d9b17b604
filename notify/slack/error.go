package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/notify"
)

// Error is a Web API call that failed: Slack refused it, throttled it,
// or did not answer.
type Error struct {
	// Method is the Web API method, such as "chat.postMessage".
	Method string
	// Status is the HTTP status of Slack's answer; 0 when none came.
	Status int
	// Code is Slack's error code from an answer with "ok": false, such
	// as "channel_not_found" or "ratelimited"; "" for none.
	Code string
	// RetryAfter is how long a 429's Retry-After asked to wait, and Until
	// when that wait ends; zero without one.
	RetryAfter time.Duration
	Until      time.Time
	// Err is the cause, as slack-go or the HTTP client returned it.
	Err error

	canceled bool
}

// Slack's error codes of a call that may succeed later.
var transient = map[string]bool{
	"ratelimited": true, "rate_limited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true, "team_added_to_org": true,
}

// Retryable reports whether the same call may succeed later: Slack
// throttled it (429, "ratelimited": after RetryAfter), failed itself
// (5xx, "internal_error"), or did not answer in time. A refusal
// ("channel_not_found", "not_in_channel", "invalid_auth") will not
// change, nor will a call whose caller's context ended.
func (e *Error) Retryable() bool {
	if e.canceled {
		return false
	}
	if e.Code != "" {
		return transient[e.Code]
	}
	return notify.RetryableStatus(e.Status)
}

// Wait is how long a 429's Retry-After asked to wait (see
// klaxon.WaitOf): a call is tried again no sooner. (A page by direct
// message that Slack throttles is deferred instead: see direct.go.)
func (e *Error) Wait() time.Duration { return e.RetryAfter }

func (e *Error) Error() string {
	switch {
	case e.RetryAfter > 0:
		return fmt.Sprintf("slack %s: rate limited, Retry-After %s (until %s)", e.Method, e.RetryAfter, e.Until.UTC().Format(time.RFC3339))
	case e.Status == http.StatusTooManyRequests:
		return fmt.Sprintf("slack %s: rate limited, Retry-After not given", e.Method)
	case e.Code != "":
		return fmt.Sprintf("slack %s: %s", e.Method, e.Code)
	case e.Status == 0:
		return fmt.Sprintf("slack %s: unreachable: %v", e.Method, e.Err)
	}
	return fmt.Sprintf("slack %s: status %d", e.Method, e.Status)
}

func (e *Error) Unwrap() error { return e.Err }

// classify turns what slack-go returned into an *Error. parent is the
// caller's context, status and retryAfter what the last answer said (0
// and "" when none came), now the time the call ended.
func classify(parent context.Context, method string, err error, status int, retryAfter string, now time.Time) *Error {
	e := &Error{Method: method, Status: status, Err: err}
	var limited *slackapi.RateLimitedError
	var refused slackapi.SlackErrorResponse
	var code slackapi.StatusCodeError
	switch {
	case errors.As(err, &limited):
		e.Status = http.StatusTooManyRequests
		e.RetryAfter = limited.RetryAfter
	case errors.As(err, &refused):
		e.Code = refused.Err
	case errors.As(err, &code):
		e.Status = code.Code
	}
	if e.Status == http.StatusTooManyRequests && e.RetryAfter == 0 {
		// A Retry-After slack-go could not read ("1.5", a date).
		if d, ok := parseRetryAfter(retryAfter, now); ok {
			e.RetryAfter = d
		}
	}
	if e.RetryAfter > 0 {
		e.Until = now.Add(e.RetryAfter)
	}
	if parent.Err() != nil {
		e.canceled = true
	}
	return e
}
