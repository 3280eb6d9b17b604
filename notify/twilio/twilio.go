// Package twilio pages by SMS and voice call through Twilio, and serves
// Twilio's signed callbacks (Callbacks): SMS replies, the calls' TwiML and
// key presses, and delivery reports, which it reports through a
// Responder. Its pure pieces are signature validation, SMS reply and
// key-press parsing, and the TwiML a call plays.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// DefaultAPIURL is Twilio's REST API.
const DefaultAPIURL = "https://api.twilio.com"

// Retries of a request that fails with a retryable error: attempts in all,
// and the wait before the second, doubled before each next one.
const (
	attempts    = 3
	baseBackoff = 100 * time.Millisecond
)

// Callback paths, under Options.PublicURL.
const (
	VoicePath  = "/v1/twilio/voice"
	StatusPath = "/v1/twilio/status"
	SMSPath    = "/v1/twilio/sms"
)

// Options configure a Twilio account for paging.
type Options struct {
	AccountSID string
	AuthToken  string
	// From is the E.164 number pages come from.
	From string
	// APIURL replaces Twilio's REST API base URL (DefaultAPIURL when
	// empty): a regional edge, a proxy, or a test double. Every request
	// goes there, with its path kept.
	APIURL string
	// PublicURL is Klaxon's base URL as Twilio reaches it, for the voice
	// and status callbacks.
	PublicURL string
	// HTTPClient carries the requests; its Transport and Timeout are
	// used, redirects are not followed. Nil is a client with a 10 s
	// timeout.
	HTTPClient *http.Client
}

// Twilio sends pages through one Twilio account. It is safe for
// concurrent use.
type Twilio struct {
	sid, token string
	from       string
	apiURL     *url.URL
	publicURL  string
	http       *http.Client
	backoff    time.Duration
}

// New checks o and returns a Twilio.
func New(o Options) (*Twilio, error) {
	switch {
	case o.AccountSID == "":
		return nil, klaxon.Invalid("account_sid", "required")
	case o.AuthToken == "":
		return nil, klaxon.Invalid("auth_token", "required")
	case o.From == "":
		return nil, klaxon.Invalid("from", "required")
	}
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	apiURL, err := parseBase(o.APIURL)
	if err != nil {
		return nil, klaxon.Invalid("api_url", "%v", err)
	}
	if _, err := parseBase(o.PublicURL); err != nil {
		return nil, klaxon.Invalid("public_url", "%v", err)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Twilio{
		sid:       o.AccountSID,
		token:     o.AuthToken,
		from:      o.From,
		apiURL:    apiURL,
		publicURL: strings.TrimRight(o.PublicURL, "/"),
		http:      hc,
		backoff:   baseBackoff,
	}, nil
}

func parseBase(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("bad URL %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bad URL %q: want http:// or https:// and a host", s)
	}
	return u, nil
}

// SMS is the channel that pages by text message.
func (t *Twilio) SMS() notify.Channel { return smsChannel{t} }

// Voice is the channel that pages by phone call.
func (t *Twilio) Voice() notify.Channel { return voiceChannel{t} }

// StatusURL is where Twilio reports the delivery of notification n of an
// incident: PublicURL + "/v1/twilio/status?incident=42&n=3". The query
// ties the report to the page, since Send returns no message SID. A
// bundle's names the other pages it stands for too, each as
// also=INCIDENT.N: the report is theirs as well.
func StatusURL(publicURL, incident string, n int, bundled ...klaxon.PageRef) string {
	var also []string
	for _, b := range bundled {
		also = append(also, "also", b.Incident+"."+strconv.Itoa(b.Notification))
	}
	return callbackURL(publicURL, StatusPath, incident, n, also...)
}

func callbackURL(publicURL, path, incident string, n int, extra ...string) string {
	q := url.Values{"incident": {incident}, "n": {strconv.Itoa(n)}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Add(extra[i], extra[i+1])
	}
	return strings.TrimRight(publicURL, "/") + path + "?" + q.Encode()
}

// providerID notes on ctx's span (the page's, when traced) the SID
// Twilio gave the message or call.
func providerID(ctx context.Context, sid string) {
	trace.SpanFromContext(ctx).SetAttributes(attribute.String("klaxon.provider.id", sid))
}

// do runs call against the REST API, again after a retryable error, up to
// three attempts with 100 ms, then 200 ms between them. The error is an
// *Error, or ctx's error when ctx ends during a wait.
func (t *Twilio) do(ctx context.Context, call func(*api.ApiService) error) error {
	return t.try(ctx, false, call)
}

// doOnce is do for a request that must not be carried out twice (a
// call: a second rings over the first): one that Twilio may have carried
// out though it failed (Error.MaybeSent) is not sent again.
func (t *Twilio) doOnce(ctx context.Context, call func(*api.ApiService) error) error {
	return t.try(ctx, true, call)
}

func (t *Twilio) try(ctx context.Context, once bool, call func(*api.ApiService) error) error {
	err := notify.Retry(ctx, attempts, t.backoff, func() error {
		svc, ep := t.service(ctx)
		if err := call(svc); err != nil {
			e := classify(ctx, err, ep.status)
			e.unsent = ep.sent == "" || ep.unconnected() || neverSent(err)
			if ue := (*url.Error)(nil); errors.As(e.Err, &ue) && ep.sent != "" {
				ue.URL = ep.sent // where it went, not twilio-go's host
			}
			if e.Status == http.StatusTooManyRequests {
				e.RetryAfter = notify.RetryAfter(ep.retryAfter, time.Now())
			}
			if once && e.MaybeSent() {
				return notAgain{e}
			}
			return e
		}
		return nil
	})
	if na, ok := err.(notAgain); ok {
		return na.e
	}
	return err
}

// notAgain is an error that Retry must not try again: it has no Unwrap,
// so that Retry does not find the retryable *Error in it.
type notAgain struct{ e *Error }

func (n notAgain) Error() string { return n.e.Error() }
func (notAgain) Retryable() bool { return false }

// service returns a twilio-go API service whose every request goes to the
// API URL under ctx. twilio-go builds requests without a context and
// against its own host, so the redirection happens in the HTTP transport.
func (t *Twilio) service(ctx context.Context) (*api.ApiService, *endpoint) {
	next := t.http.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	ep := &endpoint{ctx: ctx, base: t.apiURL, next: next}
	c := &client.Client{
		Credentials: client.NewCredentials(t.sid, t.token),
		HTTPClient: &http.Client{
			Transport:     ep,
			Timeout:       t.http.Timeout,
			Jar:           t.http.Jar,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(t.sid)
	return api.NewApiServiceWithClient(c), ep
}

// endpoint is an http.RoundTripper that sends each request to base, keeping
// its path and query, under ctx; it notes the status and the Retry-After
// of the last response. It serves one call at a time.
type endpoint struct {
	ctx        context.Context
	base       *url.URL
	next       http.RoundTripper
	status     int
	retryAfter string
	sent       string // the URL the last request went to
	// asked and connected trace the last request: the transport looked
	// for a connection for it, and got one. A transport that traces
	// nothing sets neither.
	asked, connected atomic.Bool
}

// unconnected reports whether the transport looked for a connection for
// the last request and got none (no TCP connection, a TLS handshake cut
// or refused, a timeout or the context's end while it dialed): no byte
// of the request was written.
func (e *endpoint) unconnected() bool {
	return e.asked.Load() && !e.connected.Load()
}

func (e *endpoint) RoundTrip(req *http.Request) (*http.Response, error) {
	e.asked.Store(false)
	e.connected.Store(false)
	r := req.Clone(httptrace.WithClientTrace(e.ctx, &httptrace.ClientTrace{
		GetConn: func(string) { e.asked.Store(true) },
		GotConn: func(httptrace.GotConnInfo) { e.connected.Store(true) },
	}))
	r.URL.Scheme = e.base.Scheme
	r.URL.Host = e.base.Host
	r.URL.Path = strings.TrimRight(e.base.Path, "/") + req.URL.Path
	r.URL.RawPath = ""
	r.Host = ""
	e.sent = r.URL.Redacted()
	resp, err := e.next.RoundTrip(r)
	if resp != nil {
		e.status, e.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	}
	return resp, err
}
