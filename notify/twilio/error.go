package twilio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
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
	// unsent is set when the request never reached Twilio: it was not
	// sent, or no connection could be made.
	unsent bool
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

// MaybeSent reports whether Twilio may have carried out the request
// though it failed: Twilio failed itself (5xx), perhaps after it took
// the request, or no answer came to a request that may have reached it
// (a timeout, a connection cut, its context ended). A refusal (another
// 4xx, a 429) carried out nothing, nor did a request that never left (no
// connection could be made: no address, a refusal, a TLS handshake that
// failed, a timeout or the context's end while it dialed).
func (e *Error) MaybeSent() bool {
	switch {
	case e.Status >= http.StatusInternalServerError:
		return true
	case e.Status != 0:
		return false
	}
	return !e.unsent
}

// neverSent reports whether err, a request's failure, came before the
// request left: no address was found, or no connection made.
func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
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
