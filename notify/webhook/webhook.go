// Package webhook pages by HTTP POST to a URL: a JSON payload signed with
// HMAC-SHA256 for receivers of Klaxon's own, or a message for a Slack
// incoming webhook.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// Formats of the request body.
const (
	FormatJSON  = "json"  // a Payload, signed when there is a secret
	FormatSlack = "slack" // a SlackMessage for an incoming webhook
)

// Retries of a request that fails with a retryable error: attempts in all,
// and the wait before the second, doubled before each next one. A
// Retry-After (on a 429 or a 503) pauses the URL and replaces the wait
// (see pause.go); one past notify.MaxInlineWait ends the attempts, and
// the escalation engine tries again no sooner. A request written whole
// and not answered, or answered by a gateway that lost the receiver's
// answer (502, 504), ends them too (see taken).
const (
	attempts    = 3
	baseBackoff = 100 * time.Millisecond
)

// drainBody is how much of an answer is read past what an Error keeps, so
// that the connection can serve the next request.
const drainBody = 64 << 10

// defaultTimeout bounds a request whose context has no deadline: the
// engine's page timeout by default. A page's request has its try's
// deadline (--page-timeout), a status update's and a test page's theirs.
const defaultTimeout = time.Minute

// Options configure a webhook.
type Options struct {
	// URL receives the pages: an absolute http:// or https:// URL.
	URL string
	// Secret signs each request's body (X-Klaxon-Signature with
	// X-Klaxon-Timestamp, see Sign); empty sends them unsigned. Slack
	// ignores the signature, its URL being the secret.
	Secret string
	// Format is FormatJSON (the default) or FormatSlack.
	Format string
	// HTTPClient carries the requests; its Transport, Timeout and Jar
	// are used, redirects are not followed. Nil is a client of
	// http.DefaultTransport with no timeout of its own: a request is
	// bounded by its context's deadline, or by a minute without one.
	// A Timeout of its own cuts a request sooner, whatever the page's
	// deadline.
	HTTPClient *http.Client
	// PublicURL is Klaxon's base URL as responders reach it, for the link
	// to the incident; empty leaves the link out.
	PublicURL string
}

// Webhook sends pages to one URL. It is safe for concurrent use.
type Webhook struct {
	url       *url.URL
	secret    string
	format    string
	publicURL string
	http      *http.Client
	backoff   time.Duration
	now       func() time.Time
	pause     pause // after a Retry-After: see pause.go
}

var _ notify.Channel = (*Webhook)(nil)

// New checks o and returns a Webhook.
func New(o Options) (*Webhook, error) {
	u, err := parseURL(o.URL)
	if err != nil {
		return nil, klaxon.Invalid("url", "%v", err)
	}
	switch o.Format {
	case "":
		o.Format = FormatJSON
	case FormatJSON, FormatSlack:
	default:
		return nil, klaxon.Invalid("format", "unknown format %q: want json or slack", o.Format)
	}
	if o.PublicURL != "" {
		if _, err := parseURL(o.PublicURL); err != nil {
			return nil, klaxon.Invalid("public_url", "%v", err)
		}
	}
	// No timeout of the client's own: a receiver that takes 15 s to
	// answer, within the page's timeout, would be cut off at the
	// client's, and have the page again at the next try.
	hc := &http.Client{}
	if o.HTTPClient != nil {
		hc = &http.Client{Transport: o.HTTPClient.Transport, Timeout: o.HTTPClient.Timeout, Jar: o.HTTPClient.Jar}
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Webhook{
		url:       u,
		secret:    o.Secret,
		format:    o.Format,
		publicURL: strings.TrimRight(o.PublicURL, "/"),
		http:      hc,
		backoff:   baseBackoff,
		now:       time.Now,
	}, nil
}

// parseURL checks that s is an absolute http(s) URL. Its errors do not
// quote s, which may hold a token, as Slack's webhook URLs do.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("bad URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("bad URL: want an absolute http:// or https:// URL")
	}
	return u, nil
}

// Send posts p, again after a retryable error, up to three attempts with
// 100 ms, then 200 ms between them. A 429's or a 503's Retry-After
// pauses the URL (see pause.go): the page is tried again at the time the
// pause gave it instead, within the try when that is at most 5 s away
// (see notify.Retry). A request written whole that gets no answer, or
// a 502 or a 504 (a proxy before the receiver that lost its answer), is
// not posted again: the receiver may have the page, and the engine's next
// try posts it. Any 2xx answer is success; redirects are not followed.
// The error is an *Error, also matching ctx's error when ctx ends during
// a wait, or a *klaxon.DeferredError while the URL is paused.
func (w *Webhook) Send(ctx context.Context, p klaxon.Page) error {
	// A test page does not come again; a status update comes again
	// within its try only, whose deadline ctx has (notify.Updates).
	k, again, by := keyOf(p), !p.Test, time.Time{}
	if p.Update != "" {
		by, _ = ctx.Deadline()
	}
	err := notify.Retry(ctx, attempts, w.backoff, func() error {
		// The pause is on the clock of Retry's waits, not on w.now,
		// which dates the body.
		if until, held := w.pause.hold(time.Now(), k, again, by); held {
			return &klaxon.DeferredError{Until: until}
		}
		defer w.pause.done()
		err := w.post(ctx, p)
		var e *Error
		if !errors.As(err, &e) {
			return err
		}
		if e.RetryAfter > 0 {
			now := time.Now()
			e.wait = w.pause.refused(now, e.RetryAfter, k).Sub(now)
		}
		if e.mayBeTaken() {
			return taken{e}
		}
		return e
	})
	if t, ok := err.(taken); ok {
		err = t.err
	}
	if err != nil {
		return fmt.Errorf("post incident %s for %s: %w", p.Incident, p.User.ID, err)
	}
	return nil
}

// taken ends the attempts of Send on a request that the receiver may
// have taken (see Error.mayBeTaken): posting it again at once could page
// twice. Its error goes to the engine, whose next try is one on the
// timeline, after its backoff.
type taken struct{ err *Error }

func (t taken) Error() string { return t.err.Error() }

// Retryable is false, for notify.Retry only: the *Error it carries stays
// retryable for the engine.
func (t taken) Retryable() bool { return false }

// post makes one attempt, bounded by ctx's deadline, or by
// defaultTimeout without one. The error is an *Error when the receiver
// refused the page or did not answer.
func (w *Webhook) post(ctx context.Context, p klaxon.Page) error {
	now := w.now()
	b, err := body(w.format, p, w.publicURL, now)
	if err != nil {
		return err
	}
	rctx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	// Written whole, the request may have reached the receiver, whatever
	// comes of it after.
	var sent atomic.Bool
	rctx = httptrace.WithClientTrace(rctx, &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			sent.Store(true)
		}
	}})
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.url.String(), bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Klaxon")
	if w.secret != "" {
		ts := now.Unix()
		req.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
		req.Header.Set(SignatureHeader, Sign(w.secret, ts, b))
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return transportError(ctx, err, w.url, sent.Load())
	}
	defer resp.Body.Close()
	// utf8.UTFMax more than an Error keeps, so that it can cut whole
	// characters, and the secret's length more, so that a secret the
	// answer echoes across the cut is masked whole before it (see
	// truncate); then a bounded drain, so that the connection is reused.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, int64(maxBody+len(w.secret)+utf8.UTFMax)))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return statusError(resp, head, w.secret, w.now())
}
