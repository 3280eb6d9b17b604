package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

const (
	secret = "s3cr3t-webhook-key"
	public = "https://klaxon.example.com"
)

var (
	t0   = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	page = klaxon.Page{
		Incident: "42", Notification: 3, Via: "webhook",
		User:    klaxon.User{ID: "alice", Name: "Alice"},
		Summary: "5xx ratio above 5% on payments", Severity: "critical", Alerts: 2,
		Text: "#42 [critical] 5xx ratio above 5% on payments (2 firing)",
	}
)

// answer is what the receiver replies to one request.
type answer struct {
	status int
	body   string
	header map[string]string
}

// request is what the receiver got.
type request struct {
	method, path string
	header       http.Header
	body         []byte
}

// receiver is a webhook receiver on loopback that replies with its
// answers in turn, repeating the last one, and records every request.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	answers []answer
	got     []request
}

func startReceiver(t *testing.T, answers ...answer) *receiver {
	t.Helper()
	r := &receiver{answers: answers}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got = append(r.got, request{method: req.Method, path: req.URL.RequestURI(), header: req.Header.Clone(), body: b})
	a := answer{status: http.StatusOK, body: "ok"}
	if n := len(r.got); len(r.answers) > 0 {
		a = r.answers[min(n, len(r.answers))-1]
	}
	r.mu.Unlock()
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

// newWebhook returns a Webhook with o, a fixed clock and short retry waits.
func newWebhook(t *testing.T, o Options) *Webhook {
	t.Helper()
	w, err := New(o)
	require.NoError(t, err)
	w.backoff = time.Millisecond
	w.now = func() time.Time { return t0.Add(123 * time.Millisecond) }
	return w
}

func TestSendJSON(t *testing.T) {
	r := startReceiver(t)
	w := newWebhook(t, Options{URL: r.URL + "/hooks/klaxon?team=payments", Secret: secret, PublicURL: public + "/"})
	require.NoError(t, w.Send(t.Context(), page))

	got := r.requests()
	require.Len(t, got, 1)
	req := got[0]
	require.Equal(t, http.MethodPost, req.method)
	require.Equal(t, "/hooks/klaxon?team=payments", req.path)
	require.Equal(t, `{"type":"page","incident":"42","notification":3,"user":"alice","severity":"critical",`+
		`"summary":"5xx ratio above 5% on payments","alerts":2,"text":"#42 [critical] 5xx ratio above 5% on payments (2 firing)",`+
		`"url":"https://klaxon.example.com/incidents/42","sent_at":"2026-01-02T03:04:05Z"}`, string(req.body))
	require.Equal(t, "application/json", req.header.Get("Content-Type"))
	require.Equal(t, "Klaxon", req.header.Get("User-Agent"))
	require.Equal(t, "1767323045", req.header.Get(TimestampHeader))
	sig := req.header.Get(SignatureHeader)
	require.Regexp(t, `^sha256=[0-9a-f]{64}$`, sig)
	require.Equal(t, Sign(secret, 1767323045, req.body), sig)

	// The receiver's side: the signature verifies, and fails on any change.
	ts, err := strconv.ParseInt(req.header.Get(TimestampHeader), 10, 64)
	require.NoError(t, err)
	require.True(t, Verify(secret, sig, ts, req.body))
	tampered := []byte(strings.Replace(string(req.body), `"alerts":2`, `"alerts":3`, 1))
	require.False(t, Verify(secret, sig, ts, tampered), "tampered body")
	require.False(t, Verify(secret, sig, ts+1, req.body), "replayed with another timestamp")
	require.False(t, Verify("other", sig, ts, req.body), "other secret")
	require.False(t, Verify(secret, strings.TrimPrefix(sig, "sha256="), ts, req.body), "no algorithm")

	var p Payload
	require.NoError(t, json.Unmarshal(req.body, &p))
	require.Equal(t, NewPayload(page, public, t0), p)
}

func TestSendUnsigned(t *testing.T) {
	r := startReceiver(t)
	w := newWebhook(t, Options{URL: r.URL})
	require.NoError(t, w.Send(t.Context(), page))

	req := r.requests()[0]
	require.NotContains(t, req.header, SignatureHeader)
	require.NotContains(t, req.header, TimestampHeader)
	var p Payload
	require.NoError(t, json.Unmarshal(req.body, &p))
	require.Empty(t, p.URL, "no link without a public URL")
	require.NotContains(t, string(req.body), `"url"`)
}

// An incident ID is escaped in the URL path.
func TestIncidentURL(t *testing.T) {
	require.Equal(t, public+"/incidents/42", klaxon.IncidentURL(public, "42"))
	require.Equal(t, public+"/incidents/42", klaxon.IncidentURL(public+"/", "42"))
	require.Equal(t, public+"/incidents/a%2Fb%3F", klaxon.IncidentURL(public, "a/b?"))
	require.Empty(t, klaxon.IncidentURL("", "42"))
}

func TestSendAnswers(t *testing.T) {
	tests := []struct {
		name      string
		answers   []answer
		attempts  int
		status    int // 0: success
		retryable bool
	}{
		{name: "200", answers: []answer{{status: 200, body: "ok"}}, attempts: 1},
		{name: "204", answers: []answer{{status: 204}}, attempts: 1},
		{name: "202 with any body", answers: []answer{{status: 202, body: `{"queued":true}`}}, attempts: 1},
		{name: "500 then 200", answers: []answer{{status: 500}, {status: 200, body: "ok"}}, attempts: 2},
		// A gateway's 502 or 504 may hide a receiver that took the
		// page: the engine's next try posts it again.
		{name: "502", answers: []answer{{status: 502}, {status: 200}}, attempts: 1, status: 502, retryable: true},
		{name: "504", answers: []answer{{status: 504}, {status: 200}}, attempts: 1, status: 504, retryable: true},
		{name: "429 then 200", answers: []answer{{status: 429}, {status: 200}}, attempts: 2},
		{name: "503 always", answers: []answer{{status: 503, body: "down"}}, attempts: 3, status: 503, retryable: true},
		{name: "429 always", answers: []answer{{status: 429}}, attempts: 3, status: 429, retryable: true},
		{name: "400", answers: []answer{{status: 400, body: "invalid_payload"}}, attempts: 1, status: 400},
		{name: "404", answers: []answer{{status: 404, body: "no_service"}}, attempts: 1, status: 404},
		{name: "403 after 500", answers: []answer{{status: 500}, {status: 403}}, attempts: 2, status: 403},
		{name: "redirect not followed", answers: []answer{{status: 302, header: map[string]string{"Location": "/elsewhere"}}}, attempts: 1, status: 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startReceiver(t, tt.answers...)
			err := newWebhook(t, Options{URL: r.URL, Secret: secret}).Send(t.Context(), page)
			require.Len(t, r.requests(), tt.attempts)
			if tt.status == 0 {
				require.NoError(t, err)
				return
			}
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tt.status, e.Status)
			require.Equal(t, tt.retryable, e.Retryable())
			require.Equal(t, tt.answers[len(tt.answers)-1].body, e.Body)
			require.ErrorContains(t, err, "post incident 42 for alice: webhook status "+strconv.Itoa(tt.status))
		})
	}
}

// A 429's Retry-After is waited out before the next attempt.
func TestSendRetryAfter(t *testing.T) {
	r := startReceiver(t, answer{status: 429, header: map[string]string{"Retry-After": "1"}}, answer{status: 200, body: "ok"})
	w := newWebhook(t, Options{URL: r.URL})
	w.backoff = time.Hour // were Retry-After not honoured, the test would time out
	require.NoError(t, w.Send(t.Context(), page))
	require.Len(t, r.requests(), 2)
}

func TestSendStopsWhenContextEnds(t *testing.T) {
	r := startReceiver(t, answer{status: 503, body: "down"})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// Cancel once the first answer is in: during the wait that follows.
	hc := &http.Client{Transport: afterAnswer{next: http.DefaultTransport, f: cancel}}
	w := newWebhook(t, Options{URL: r.URL, HTTPClient: hc})
	w.backoff = time.Hour

	err := w.Send(ctx, page)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, r.requests(), 1)
	var e *Error
	require.ErrorAs(t, err, &e, "the last failure is kept")
	require.Equal(t, http.StatusServiceUnavailable, e.Status)
}

// afterAnswer calls f when an answer has come.
type afterAnswer struct {
	next http.RoundTripper
	f    func()
}

func (a afterAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(req)
	if err == nil {
		a.f()
	}
	return resp, err
}

func TestSendCanceled(t *testing.T) {
	r := startReceiver(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := newWebhook(t, Options{URL: r.URL}).Send(ctx, page)
	require.ErrorIs(t, err, context.Canceled)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Zero(t, e.Status)
	require.False(t, e.Retryable())
	require.Empty(t, r.requests())
}

// No answer is retryable, and the error shows neither the URL's path,
// which is the secret of a Slack webhook, nor the signing secret.
func TestSendUnreachable(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	const token = "T000/B000/XXXXXXXXXXXXXXXX"
	w := newWebhook(t, Options{URL: down.URL + "/services/" + token, Secret: secret})

	err := w.Send(t.Context(), page)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Zero(t, e.Status)
	require.True(t, e.Retryable())
	require.ErrorContains(t, err, "webhook unreachable: Post \""+down.URL+"/...\"")
	require.NotContains(t, err.Error(), token)
	require.NotContains(t, err.Error(), secret)
}

// An answer's body is kept to 200 bytes of valid UTF-8, without the
// secret, in the error.
func TestErrorBody(t *testing.T) {
	long := "bad signature for key " + secret + ": " + strings.Repeat("é", 200)
	r := startReceiver(t, answer{status: 401, body: long})
	err := newWebhook(t, Options{URL: r.URL, Secret: secret}).Send(t.Context(), page)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, 401, e.Status)
	require.LessOrEqual(t, len(e.Body), 200)
	require.True(t, strings.HasPrefix(e.Body, "bad signature for key [secret]: éé"), e.Body)
	require.True(t, strings.HasSuffix(e.Body, "é"), "cut between characters")
	require.NotContains(t, err.Error(), secret)

	// A secret echoed across the cut is masked whole, not cut to a part
	// of it that the error would keep.
	across := strings.Repeat("x", 190) + secret + " was not accepted"
	r = startReceiver(t, answer{status: 401, body: across})
	err = newWebhook(t, Options{URL: r.URL, Secret: secret}).Send(t.Context(), page)
	require.ErrorAs(t, err, &e)
	require.NotContains(t, e.Body, secret[:8], e.Body)
	require.Contains(t, e.Body, "x[secret]")
}

func TestTruncate(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"short", " ok \n", "ok"},
		{"exactly 200", strings.Repeat("a", 200), strings.Repeat("a", 200)},
		{"201", strings.Repeat("a", 201), strings.Repeat("a", 200)},
		{"cut in a character", strings.Repeat("a", 199) + "é", strings.Repeat("a", 199)},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"secret", "key=" + secret, "key=[secret]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, truncate([]byte(tt.in), secret))
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name  string
		o     Options
		field string
	}{
		{"no URL", Options{}, "url"},
		{"relative URL", Options{URL: "/hooks/klaxon"}, "url"},
		{"no scheme", Options{URL: "hooks.slack.com/services/T0/B0/XXXX"}, "url"},
		{"ftp", Options{URL: "ftp://example.com/XXXX"}, "url"},
		{"no host", Options{URL: "https:///XXXX"}, "url"},
		{"unparsable", Options{URL: "https://exa mple.com/XXXX"}, "url"},
		{"control character", Options{URL: "https://example.com/XXXX\n"}, "url"},
		{"unknown format", Options{URL: "https://example.com/hook", Format: "xml"}, "format"},
		{"format case", Options{URL: "https://example.com/hook", Format: "Slack"}, "format"},
		{"bad public URL", Options{URL: "https://example.com/hook", PublicURL: "klaxon.example.com"}, "public_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.o)
			require.ErrorIs(t, err, klaxon.ErrInvalid)
			var fe *klaxon.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.field, fe.Field)
			require.NotContains(t, err.Error(), "XXXX", "the URL may be a secret")
		})
	}

	for _, o := range []Options{
		{URL: "http://127.0.0.1:8080/hook"},
		{URL: "https://hooks.slack.com/services/T0/B0/XXXX", Format: FormatSlack, PublicURL: public},
		{URL: "https://example.com", Format: FormatJSON, Secret: secret},
	} {
		w, err := New(o)
		require.NoError(t, err, o.URL)
		require.NotNil(t, w)
	}
}
