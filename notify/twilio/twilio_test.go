package twilio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/twiliotest"
)

const (
	from   = "+15550100000"
	alice  = "+15550100001"
	public = "https://klaxon.example.com"
)

var page = klaxon.Page{
	Incident: "42", Notification: 3, Via: klaxon.ViaSMS,
	User:    klaxon.User{ID: "alice", Phone: alice},
	Summary: "5xx ratio above 5% on payments", Severity: "critical", Alerts: 2,
}

// callPage is page by a call.
var callPage = func() klaxon.Page {
	p := page
	p.Via = klaxon.ViaVoice
	return p
}()

// newTwilio returns a Twilio talking to fake, with short retry waits.
func newTwilio(t *testing.T, fake *twiliotest.Server) *Twilio {
	t.Helper()
	tw, err := New(Options{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, From: from, APIURL: fake.URL, PublicURL: public})
	require.NoError(t, err)
	tw.backoff = time.Millisecond
	return tw
}

func TestSendSMS(t *testing.T) {
	fake := twiliotest.Start(t)
	require.NoError(t, newTwilio(t, fake).SMS().Send(t.Context(), page))

	m := fake.WaitSMS(t, alice)
	require.Regexp(t, `^SM[0-9a-f]{32}$`, m.SID)
	require.Equal(t, alice, m.To)
	require.Equal(t, from, m.From)
	require.Equal(t, "#42 CRIT 5xx ratio above 5% on payments (2 firing). Reply 42A ack, 42R resolve, 42E escalate", m.Body)
	require.Equal(t, public+"/v1/twilio/status?incident=42&n=3", m.StatusCallback)
	require.Equal(t, 1, fake.Attempts(alice))

	bundle := page
	bundle.Bundle, bundle.Text = 3, "3 incidents for alice: #42 #43 #44. Reply AA to ack all"
	bundle.Bundled = []klaxon.PageRef{{Incident: "43", Notification: 1}, {Incident: "44", Notification: 2}}
	require.NoError(t, newTwilio(t, fake).SMS().Send(t.Context(), bundle))
	m = fake.WaitSMS(t, alice)
	require.Equal(t, public+"/v1/twilio/status?also=43.1&also=44.2&incident=42&n=3", m.StatusCallback, "the report of a bundle is every page's")
}

func TestSendVoice(t *testing.T) {
	fake := twiliotest.Start(t)
	require.NoError(t, newTwilio(t, fake).Voice().Send(t.Context(), page))

	c := fake.WaitCall(t, alice)
	require.Regexp(t, `^CA[0-9a-f]{32}$`, c.SID)
	require.Equal(t, from, c.From)
	require.Equal(t, public+"/v1/twilio/voice?incident=42&n=3", c.URL)
	require.Equal(t, "DetectMessageEnd", c.MachineDetection, "a voicemail takes the message after its greeting")
	require.Equal(t, public+"/v1/twilio/status?incident=42&n=3", c.StatusCallback)
	require.Equal(t, []string{"completed"}, c.StatusCallbackEvent)
	// Bounded, so that a call whose end is never reported holds its
	// person no longer than MaxCall (see notify.ThrottleOptions.CallCap).
	require.Equal(t, "60", c.Form.Get("Timeout"), "rings a minute at most")
	require.Equal(t, "240", c.Form.Get("TimeLimit"), "lasts four minutes at most, answered")
	require.Equal(t, 6*time.Minute, MaxCall)
}

func TestSendWrongCredentials(t *testing.T) {
	fake := twiliotest.Start(t)
	tw, err := New(Options{AccountSID: fake.AccountSID, AuthToken: "0000000000000000", From: from, APIURL: fake.URL, PublicURL: public})
	require.NoError(t, err)

	err = tw.SMS().Send(t.Context(), page)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, http.StatusUnauthorized, e.Status)
	require.Equal(t, 20003, e.Code)
	require.False(t, e.Retryable())
	require.Empty(t, fake.Messages())
}

func TestSendBadNumber(t *testing.T) {
	fake := twiliotest.Start(t)
	tw := newTwilio(t, fake)
	fake.Fail(alice, http.StatusBadRequest, 21211, -1)

	for _, ch := range []struct {
		name string
		send func(context.Context, klaxon.Page) error
	}{{"sms", tw.SMS().Send}, {"voice", tw.Voice().Send}} {
		t.Run(ch.name, func(t *testing.T) {
			before := fake.Attempts(alice)
			err := ch.send(t.Context(), page)
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, http.StatusBadRequest, e.Status)
			require.Equal(t, 21211, e.Code)
			require.False(t, e.Retryable())
			require.Equal(t, before+1, fake.Attempts(alice), "a refusal is not retried")
			require.NotContains(t, err.Error(), alice)
			require.Contains(t, err.Error(), "+*******0001")
		})
	}

	t.Run("not E.164", func(t *testing.T) {
		p := page
		p.User.Phone = "555-0100"
		err := tw.SMS().Send(t.Context(), p)
		var e *Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, 21211, e.Code)
	})
	t.Run("no phone", func(t *testing.T) {
		p := page
		p.User.Phone = ""
		require.ErrorIs(t, tw.Voice().Send(t.Context(), p), klaxon.ErrInvalid)
	})
	require.Empty(t, fake.Messages())
	require.Empty(t, fake.Calls())
}

func TestSendRetries(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		code     int
		times    int
		ok       bool
		attempts int
	}{
		{"throttled twice, then sent", http.StatusTooManyRequests, 20429, 2, true, 3},
		{"server error once, then sent", http.StatusInternalServerError, 20500, 1, true, 2},
		{"server error every time", http.StatusServiceUnavailable, 20503, -1, false, 3},
		{"throttled every time", http.StatusTooManyRequests, 20429, -1, false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := twiliotest.Start(t)
			fake.Fail(alice, tt.status, tt.code, tt.times)
			err := newTwilio(t, fake).SMS().Send(t.Context(), page)
			require.Equal(t, tt.attempts, fake.Attempts(alice))
			if tt.ok {
				require.NoError(t, err)
				require.Len(t, fake.Messages(), 1)
				return
			}
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tt.status, e.Status)
			require.True(t, e.Retryable(), "the dispatcher may try again later")
			require.Empty(t, fake.Messages())
		})
	}
}

// TestSendRetryAfter: a 429's Retry-After past notify.MaxInlineWait ends
// the tries at once, and the error says how long to wait, for the
// escalation engine to try again no sooner.
func TestSendRetryAfter(t *testing.T) {
	fake := twiliotest.Start(t)
	fake.Throttle(alice, "60", 1)
	err := newTwilio(t, fake).Voice().Send(t.Context(), page)
	require.Equal(t, 1, fake.Attempts(alice))
	var e *Error
	require.ErrorAs(t, err, &e)
	require.True(t, e.Retryable())
	require.Equal(t, time.Minute, klaxon.WaitOf(err))
	require.Empty(t, fake.Calls())
}

func TestSendStopsWhenContextEnds(t *testing.T) {
	fake := twiliotest.Start(t)
	fake.Fail(alice, http.StatusServiceUnavailable, 20503, -1)
	tw := newTwilio(t, fake)
	tw.backoff = time.Hour

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := tw.SMS().Send(ctx, page)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, 1, fake.Attempts(alice))

	var e *Error
	require.ErrorAs(t, err, &e, "the last failure is kept")
	require.Equal(t, http.StatusServiceUnavailable, e.Status)
}

func TestSendUnreachable(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	tw, err := New(Options{AccountSID: "AC1", AuthToken: "token", From: from, APIURL: down.URL, PublicURL: public})
	require.NoError(t, err)
	tw.backoff = time.Millisecond

	err = tw.SMS().Send(t.Context(), page)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Zero(t, e.Status)
	require.True(t, e.Retryable())
	require.ErrorContains(t, err, "twilio unreachable")
	// The error names the API URL the request went to, not Twilio's.
	require.ErrorContains(t, err, down.URL+"/2010-04-01/Accounts/AC1/Messages.json")
	require.NotContains(t, err.Error(), "api.twilio.com")
}

func TestSendCanceled(t *testing.T) {
	fake := twiliotest.Start(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := newTwilio(t, fake).SMS().Send(ctx, page)
	require.ErrorIs(t, err, context.Canceled)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.False(t, e.Retryable())
	require.Zero(t, fake.Attempts(alice))
}

// An API URL with a path, such as a proxy's, keeps it in front of
// Twilio's paths.
func TestAPIURLWithPath(t *testing.T) {
	fake := twiliotest.Start(t)
	target, err := url.Parse(fake.URL)
	require.NoError(t, err)
	proxy := httptest.NewServer(http.StripPrefix("/twilio", httputil.NewSingleHostReverseProxy(target)))
	defer proxy.Close()

	tw, err := New(Options{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, From: from,
		APIURL: proxy.URL + "/twilio/", PublicURL: public, HTTPClient: proxy.Client()})
	require.NoError(t, err)
	require.NoError(t, tw.Voice().Send(t.Context(), page))
	require.Len(t, fake.Calls(), 1)
}

func TestNewChecksOptions(t *testing.T) {
	ok := Options{AccountSID: "AC1", AuthToken: "t", From: from, PublicURL: public}
	tests := []struct {
		name   string
		change func(*Options)
	}{
		{"no account sid", func(o *Options) { o.AccountSID = "" }},
		{"no auth token", func(o *Options) { o.AuthToken = "" }},
		{"no from", func(o *Options) { o.From = "" }},
		{"no public url", func(o *Options) { o.PublicURL = "" }},
		{"relative public url", func(o *Options) { o.PublicURL = "/klaxon" }},
		{"bad api url", func(o *Options) { o.APIURL = "ftp://x" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.change(&o)
			_, err := New(o)
			require.ErrorIs(t, err, klaxon.ErrInvalid)
		})
	}
	tw, err := New(ok)
	require.NoError(t, err)
	require.Equal(t, DefaultAPIURL, tw.apiURL.String())
}

// The pieces a callback handler is made of, wired as the HTTP layer will:
// the call fetches its TwiML, the responder presses 1, and replies "42a"
// by SMS.
func TestCallbackRoundTrip(t *testing.T) {
	fake := twiliotest.Start(t)
	var base string
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+VoicePath, func(w http.ResponseWriter, r *http.Request) {
		form, err := Validate(r, base, fake.AuthToken)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		var out string
		if q.Get("step") != "gather" {
			out, err = VoiceTwiML(VoicePrompt{PublicURL: base, Incident: q.Get("incident"), Notification: 3, Summary: page.Summary, Severity: page.Severity, Alerts: 2})
		} else if a, ok := ParseDigit(form.Get("Digits")); ok && a == klaxon.ActionAck {
			out, err = VoiceReply("Incident " + q.Get("incident") + " acknowledged. Goodbye.")
		}
		if err != nil || out == "" {
			http.Error(w, "bad gather", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(out))
	})
	mux.HandleFunc("POST "+SMSPath, func(w http.ResponseWriter, r *http.Request) {
		form, err := Validate(r, base, fake.AuthToken)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		text := ReplyHelp
		if reply, err := ParseReply(form.Get("Body")); err == nil {
			text = "Incident " + reply.Incident + " " + string(reply.Action) + "ed."
		}
		out, _ := SMSReply(text)
		_, _ = w.Write([]byte(out))
	})
	statuses := make(chan url.Values, 1)
	mux.HandleFunc("POST "+StatusPath, func(w http.ResponseWriter, r *http.Request) {
		form, err := Validate(r, base, fake.AuthToken)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		form.Set("incident", r.URL.Query().Get("incident"))
		statuses <- form
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base = srv.URL

	tw, err := New(Options{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, From: from, APIURL: fake.URL, PublicURL: base})
	require.NoError(t, err)
	require.NoError(t, tw.Voice().Send(t.Context(), page))
	call := fake.WaitCall(t, alice)

	answer := fake.Post(t, call.URL, url.Values{"CallSid": {call.SID}, "AnsweredBy": {"human"}}, "")
	require.Equal(t, http.StatusOK, answer.Status, answer.Body)
	require.Contains(t, answer.Body, `<Gather action="`+GatherURL(base, "42", 3)[:len(base)])

	pressed := fake.Gather(t, GatherURL(base, "42", 3), call.SID, "1")
	require.Equal(t, http.StatusOK, pressed.Status, pressed.Body)
	require.Contains(t, pressed.Body, "<Say>Incident 42 acknowledged. Goodbye.</Say>")

	require.NoError(t, tw.SMS().Send(t.Context(), page))
	fake.WaitSMS(t, alice)
	replied := fake.SendSMS(t, base+SMSPath, alice, "42a")
	require.Contains(t, replied.Body, "<Message>Incident 42 acked.</Message>")
	replied = fake.SendSMS(t, base+SMSPath, alice, "thanks")
	require.Contains(t, replied.Body, "Reply 42A to ack")

	status := fake.SendStatus(t, StatusURL(base, "42", 3), url.Values{"CallSid": {call.SID}, "CallStatus": {"completed"}})
	require.Equal(t, http.StatusNoContent, status.Status, status.Body)
	got := <-statuses
	require.Equal(t, "42", got.Get("incident"))
	require.Equal(t, "completed", got.Get("CallStatus"))
}
