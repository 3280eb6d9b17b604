package twiliotest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
)

// DefaultFrom is the Twilio number callbacks name when the fake has sent
// nothing to the responder.
const DefaultFrom = "+15550100000"

// Response is how Klaxon answered a callback.
type Response struct {
	Status int
	// Body is the answer, such as TwiML.
	Body string
}

// Sign is Twilio's signature of a callback to rawURL with form, keyed
// with the server's auth token; see Sign.
func (s *Server) Sign(rawURL string, form url.Values) string {
	return Sign(s.AuthToken, rawURL, form)
}

// Sign is Twilio's signature of a callback to rawURL with form: the
// base64 HMAC-SHA1, keyed with authToken, of the URL followed by each
// field name and value, sorted by name.
func Sign(authToken, rawURL string, form url.Values) string {
	var b strings.Builder
	b.WriteString(rawURL)
	for _, k := range slices.Sorted(maps.Keys(form)) {
		for _, v := range form[k] {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Post sends form to rawURL as Twilio sends callbacks: a form POST with
// the X-Twilio-Signature header, set to signature unless it is "", when
// Sign computes it. Tests use it to forge and alter callbacks.
func (s *Server) Post(t testing.TB, rawURL string, form url.Values, signature string) Response {
	t.Helper()
	if signature == "" {
		signature = s.Sign(rawURL, form)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("twiliotest: callback to %s: %v", rawURL, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", signature)
	resp, err := s.callback.Do(req)
	if err != nil {
		t.Fatalf("twiliotest: callback to %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("twiliotest: read answer from %s: %v", rawURL, err)
	}
	return Response{Status: resp.StatusCode, Body: string(body)}
}

// SendStatus posts a status callback to rawURL, signed. fields, such as
// MessageSid, MessageStatus, To (or CallSid, CallStatus, AnsweredBy), are
// added to AccountSid and ApiVersion.
func (s *Server) SendStatus(t testing.TB, rawURL string, fields url.Values) Response {
	t.Helper()
	form := url.Values{"AccountSid": {s.AccountSID}, "ApiVersion": {"2010-04-01"}}
	for k, v := range fields {
		form[k] = v
	}
	if form.Get("From") == "" {
		form.Set("From", DefaultFrom)
	}
	if sid := form.Get("MessageSid"); sid != "" && form.Get("SmsSid") == "" {
		form.Set("SmsSid", sid)
		if st := form.Get("MessageStatus"); st != "" {
			form.Set("SmsStatus", st)
		}
	}
	return s.Post(t, rawURL, form, "")
}

// SendSMS posts an incoming SMS from a responder to rawURL, signed, as
// Twilio does when someone replies to a page. To is the number that last
// texted from, or DefaultFrom.
func (s *Server) SendSMS(t testing.TB, rawURL, from, body string) Response {
	t.Helper()
	to := s.lastFrom(from)
	if to == "" {
		to = DefaultFrom
	}
	sid := fmt.Sprintf("SM%032x", s.inbound.Add(1)) // each message its own, as Twilio's
	form := url.Values{
		"ToCountry": {"US"}, "ToState": {"CA"}, "ToCity": {""}, "ToZip": {""},
		"FromCountry": {"US"}, "FromState": {"NY"}, "FromCity": {""}, "FromZip": {""},
		"SmsMessageSid": {sid}, "SmsSid": {sid}, "MessageSid": {sid},
		"SmsStatus": {"received"}, "NumMedia": {"0"}, "NumSegments": {"1"},
		"MessagingServiceSid": {""}, "AccountSid": {s.AccountSID}, "ApiVersion": {"2010-04-01"},
		"Body": {body}, "From": {from}, "To": {to},
	}
	return s.Post(t, rawURL, form, "")
}

// Gather posts the keys pressed on call callSid to rawURL (the Gather
// action), signed, as Twilio does. The test fails if the fake placed no
// such call.
func (s *Server) Gather(t testing.TB, rawURL, callSid, digits string) Response {
	t.Helper()
	c, ok := s.call(callSid)
	if !ok {
		t.Fatalf("twiliotest: gather on unknown call %s", callSid)
	}
	form := url.Values{
		"AccountSid": {s.AccountSID}, "ApiVersion": {"2010-04-01"},
		"CallSid": {c.SID}, "CallStatus": {"in-progress"}, "Direction": {"outbound-api"},
		"Called": {c.To}, "To": {c.To}, "Caller": {c.From}, "From": {c.From},
		"Digits": {digits}, "FinishedOnKey": {""},
	}
	return s.Post(t, rawURL, form, "")
}

// ReadForm reads a callback body kept as one name=value a line, as in the
// fixtures Twilio's callbacks were captured into.
func ReadForm(t testing.TB, file string) url.Values {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("twiliotest: %v", err)
	}
	form := url.Values{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("twiliotest: %s: want name=value, got %q", file, line)
		}
		form.Add(k, v)
	}
	return form
}
