package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon/notify"
)

// maxBody is how much of an answer's body an Error keeps.
const maxBody = 200

// Error is a page the receiver did not take: it refused it, or no answer
// came back.
type Error struct {
	// Status is the HTTP status of the answer; 0 when none came.
	Status int
	// Body is the start of the answer's body, at most 200 bytes of valid
	// UTF-8, with the secret masked.
	Body string
	// RetryAfter is the wait the Retry-After header of a 429, or of a
	// 503, asked for, capped at an hour; 0 without one.
	RetryAfter time.Duration
	// Err is the transport's error when no answer came, with the URL's
	// path and query hidden: a Slack webhook URL is itself a secret.
	Err error
	// Sent reports, when no answer came, that the request had been
	// written whole: the receiver may have taken the page.
	Sent bool

	canceled bool
	wait     time.Duration // to the time the URL's pause gave the page
}

// Retryable reports whether the same page may be taken later: the
// receiver throttled it (429), failed itself (5xx), or did not answer. A
// refusal (another 4xx, or a redirect, which Send does not follow) will
// not change, nor will a request whose context ended.
func (e *Error) Retryable() bool {
	if e.canceled {
		return false
	}
	return notify.RetryableStatus(e.Status)
}

// Wait is how long to wait before the next try (klaxon.WaitOf): to the
// time the URL's pause gave the page, at least the Retry-After (up to
// maxPause, see pause.go); the Retry-After for an Error that Send did not
// return.
func (e *Error) Wait() time.Duration {
	if e.wait > 0 {
		return e.wait
	}
	return e.RetryAfter
}

// mayBeTaken reports whether the receiver may have taken the page,
// though it did not say so: the request was written whole and no answer
// came (a reset, a timeout), or a gateway answered for the receiver
// that it had none, or none in time (502 Bad Gateway, 504 Gateway
// Timeout). Behind a reverse proxy (nginx, a load balancer, an ingress)
// the receiver's reset after taking the page is the proxy's 502. A
// 502 may as well be a receiver the proxy never reached; it is not told
// apart, and waits for the engine's next try like the others.
func (e *Error) mayBeTaken() bool {
	return e.Sent || e.Status == http.StatusBadGateway || e.Status == http.StatusGatewayTimeout
}

func (e *Error) Error() string {
	switch {
	case e.Status == 0 && e.Sent:
		return fmt.Sprintf("webhook sent, no answer: %v", e.Err)
	case e.Status == 0:
		return fmt.Sprintf("webhook unreachable: %v", e.Err)
	case e.Body != "":
		return fmt.Sprintf("webhook status %d: %s", e.Status, e.Body)
	}
	return fmt.Sprintf("webhook status %d", e.Status)
}

func (e *Error) Unwrap() error { return e.Err }

// transportError is the *Error for a request that got no answer, sent
// when it had been written whole.
func transportError(ctx context.Context, err error, target *url.URL, sent bool) *Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = &url.Error{Op: ue.Op, URL: redact(target), Err: ue.Err}
	}
	e := &Error{Err: err, Sent: sent}
	if ctx.Err() != nil {
		e.canceled = true
		if !errors.Is(err, ctx.Err()) {
			e.Err = fmt.Errorf("%w: %w", ctx.Err(), err)
		}
	}
	return e
}

// statusError is the *Error for a non-2xx answer whose body starts with
// body. A Retry-After is read on a 429, and on a 503, where it says how
// long the receiver expects to be unavailable (RFC 9110, 10.2.3): a
// receiver down for maintenance is not posted to again before.
func statusError(resp *http.Response, body []byte, secret string, now time.Time) *Error {
	e := &Error{Status: resp.StatusCode, Body: truncate(body, secret)}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.RetryAfter = notify.RetryAfter(resp.Header.Get("Retry-After"), now)
	}
	return e
}

// truncate makes the body kept in an Error: valid UTF-8, the secret masked,
// trimmed, at most maxBody bytes, cut at a character boundary.
func truncate(body []byte, secret string) string {
	s := strings.ToValidUTF8(string(body), "\uFFFD")
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "[secret]")
	}
	s = strings.TrimSpace(s)
	if len(s) <= maxBody {
		return s
	}
	s = s[:maxBody]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// redact is u without its user info, path and query, for errors.
func redact(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		r.Path = "/..."
	}
	return r.String()
}
