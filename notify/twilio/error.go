package twilio

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"

	"github.com/klaxonhq/klaxon/notify"
)

// Error is a request to Twilio that failed: Twilio refused it, or no
// answer came back.
type Error struct {
	// Status is the HTTP status of Twilio's answer; 0 when none came.
	Status int
	// Code is Twilio's error code, like 21211 for a bad 'To' number; 0
	// when Twilio gave none.
	Code int
	// Message is Twilio's description, with phone numbers masked.
	Message string
	// Err is the cause, as twilio-go or the HTTP client returned it.
	Err error
	// RetryAfter is the wait a 429's Retry-After asked for, capped at
	// notify.MaxRetryAfter; 0 without one.
	RetryAfter time.Duration

	canceled bool
}

// Retryable reports whether the same request may succeed later: Twilio
// throttled it (429), failed itself (5xx), or did not answer. A refusal
// (another 4xx, such as 21211 for a bad number or 21610 for a number that
// replied STOP) will not change, nor will a request whose context ended.
func (e *Error) Retryable() bool {
	if e.canceled {
		return false
	}
	return notify.RetryableStatus(e.Status)
}

// Wait is how long Twilio asked to wait before the next try.
func (e *Error) Wait() time.Duration { return e.RetryAfter }

func (e *Error) Error() string {
	switch {
	case e.Status == 0:
		return fmt.Sprintf("twilio unreachable: %v", e.Err)
	case e.Code != 0 && e.Message != "":
		return fmt.Sprintf("twilio status %d, error %d: %s", e.Status, e.Code, e.Message)
	case e.Code != 0:
		return fmt.Sprintf("twilio status %d, error %d", e.Status, e.Code)
	}
	return fmt.Sprintf("twilio status %d", e.Status)
}

func (e *Error) Unwrap() error { return e.Err }

// classify turns what twilio-go returned into an *Error; status is the
// HTTP status of the last answer seen, 0 if none came.
func classify(ctx context.Context, err error, status int) *Error {
	e := &Error{Status: status, Err: err}
	var rest *client.TwilioRestError
	var v1 *client.RestErrorV1
	switch {
	case errors.As(err, &rest):
		if rest.Status != 0 {
			e.Status = rest.Status
		}
		e.Code, e.Message = rest.Code, MaskPhones(rest.Message)
	case errors.As(err, &v1):
		if v1.HttpStatusCode != 0 {
			e.Status = v1.HttpStatusCode
		}
		e.Code, e.Message = v1.Code, MaskPhones(v1.Message)
	}
	if ctx.Err() != nil {
		e.canceled = true
		if e.Status == 0 {
			e.Err = ctx.Err()
		}
	}
	return e
}

var phoneRE = regexp.MustCompile(`\+?[0-9][0-9 ().-]{5,}[0-9]`)

// MaskPhone hides all but the last four digits of a phone number, for
// logs and errors: +15550100001 becomes +*******0001.
func MaskPhone(phone string) string {
	digits := 0
	for _, r := range phone {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	var b strings.Builder
	seen := 0
	for _, r := range phone {
		switch {
		case r == '+':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			seen++
			if seen <= digits-4 {
				b.WriteByte('*')
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// MaskPhones masks every phone number in s with MaskPhone.
func MaskPhones(s string) string {
	return phoneRE.ReplaceAllStringFunc(s, MaskPhone)
}
