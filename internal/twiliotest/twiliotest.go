// Package twiliotest is a fake Twilio for tests: an HTTP server on
// loopback that speaks the part of Twilio's REST API that pages use
// (creating messages and calls), records what it was asked to send, fails
// on demand, and sends callbacks back signed as Twilio signs them.
//
// Point the real twilio-go client at URL with the server's AccountSID and
// AuthToken.
package twiliotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Defaults of a new Server.
const (
	AccountSID = "AC00000000000000000000000000000001"
	AuthToken  = "0123456789abcdef0123456789abcdef"
	// WaitTimeout bounds WaitSMS and WaitCall.
	WaitTimeout = 10 * time.Second
)

// Message is an SMS that the fake accepted.
type Message struct {
	SID            string
	To             string
	From           string
	Body           string
	StatusCallback string
	// Form is the whole request body.
	Form url.Values
	// At is when the fake took the message, on the machine's clock.
	At time.Time
}

// Call is a voice call that the fake accepted.
type Call struct {
	SID                 string
	To                  string
	From                string
	URL                 string
	MachineDetection    string
	StatusCallback      string
	StatusCallbackEvent []string
	Form                url.Values
}

// Server is a fake Twilio. Its methods are safe for concurrent use;
// the ones taking a testing.TB must be called from the test's goroutine.
type Server struct {
	inbound atomic.Int64 // messages sent to Klaxon, for their SIDs

	// URL is the base URL to use in place of https://api.twilio.com.
	URL        string
	AccountSID string
	AuthToken  string

	srv      *httptest.Server
	callback *http.Client

	mu       sync.Mutex
	messages []Message
	calls    []Call
	attempts map[string]int
	failures map[string]*failure
	taken    map[string]int // messages and calls to a number returned by Wait*
	holds    map[string]*hold
	changed  chan struct{} // closed and replaced whenever something is recorded
}

type failure struct {
	status, code int
	times        int    // left; <0 for always
	retryAfter   string // a Retry-After header, "" for none
}

// Start runs a fake Twilio on a free loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		AccountSID: AccountSID,
		AuthToken:  AuthToken,
		callback:   &http.Client{Timeout: 10 * time.Second},
		attempts:   map[string]int{},
		failures:   map[string]*failure{},
		taken:      map[string]int{},
		holds:      map[string]*hold{},
		changed:    make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", s.createMessage)
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Calls.json", s.createCall)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Fail makes the next times requests to number fail with the HTTP status
// and Twilio error code, like 400 and 21211 for an invalid number, or 429
// and 20429 for throttling; times < 0 fails them all. Failed requests are
// counted by Attempts but not recorded as messages or calls.
func (s *Server) Fail(number string, status, code, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[number] = &failure{status: status, code: code, times: times}
}

// Throttle makes the next times requests to number fail as Fail(number,
// 429, 20429, times) does, with a Retry-After header of retryAfter.
func (s *Server) Throttle(number, retryAfter string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[number] = &failure{status: http.StatusTooManyRequests, code: 20429, times: times, retryAfter: retryAfter}
}

// hold is a request held until released.
type hold struct {
	arrived, release chan struct{}
	once             sync.Once
}

// Hold holds the next request to number, once it has passed the checks
// that Twilio makes, until release is called: a provider that stops
// answering in the middle of a page. arrived is closed once the request
// is held. A request whose client goes away meanwhile is not recorded.
func (s *Server) Hold(number string) (arrived <-chan struct{}, release func()) {
	h := &hold{arrived: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	s.holds[number] = h
	s.mu.Unlock()
	return h.arrived, func() { h.once.Do(func() { close(h.release) }) }
}

// Attempts counts the requests to number, failed ones included.
func (s *Server) Attempts(number string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[number]
}

// Messages returns every SMS accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Calls returns every call accepted so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// WaitSMS returns the next SMS to number that WaitSMS has not returned
// yet, waiting up to WaitTimeout for it; the test fails when none comes.
func (s *Server) WaitSMS(t testing.TB, to string) Message {
	t.Helper()
	return wait(t, s, "SMS to "+to, func() (Message, bool) {
		return next(s.messages, s.taken, "sms:"+to, func(m Message) bool { return m.To == to })
	})
}

// WaitCall returns the next call to number that WaitCall has not
// returned yet, waiting up to WaitTimeout for it; the test fails when none
// comes.
func (s *Server) WaitCall(t testing.TB, to string) Call {
	t.Helper()
	return wait(t, s, "call to "+to, func() (Call, bool) {
		return next(s.calls, s.taken, "call:"+to, func(c Call) bool { return c.To == to })
	})
}

// Untaken describes the messages and calls that WaitSMS and WaitCall
// have not returned: pages nobody expected.
func (s *Server) Untaken() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	seen := map[string]int{}
	for _, m := range s.messages {
		if key := "sms:" + m.To; seen[key] >= s.taken[key] {
			out = append(out, fmt.Sprintf("SMS to %s: %q", m.To, m.Body))
		} else {
			seen[key]++
		}
	}
	for _, c := range s.calls {
		if key := "call:" + c.To; seen[key] >= s.taken[key] {
			out = append(out, "call to "+c.To)
		} else {
			seen[key]++
		}
	}
	return out
}

// next returns the first item matching that is not among the taken[key]
// already returned, and takes it.
func next[T any](items []T, taken map[string]int, key string, match func(T) bool) (T, bool) {
	seen := 0
	for _, it := range items {
		if !match(it) {
			continue
		}
		if seen == taken[key] {
			taken[key]++
			return it, true
		}
		seen++
	}
	var zero T
	return zero, false
}

func wait[T any](t testing.TB, s *Server, what string, find func() (T, bool)) T {
	t.Helper()
	deadline := time.NewTimer(WaitTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		v, ok := find()
		changed := s.changed
		n, c := len(s.messages), len(s.calls)
		s.mu.Unlock()
		if ok {
			return v
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("twiliotest: no %s within %v (%d messages, %d calls in all)", what, WaitTimeout, n, c)
		}
	}
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// accept checks a create request as Twilio does and counts it. It answers
// the request and returns nil when the request fails.
func (s *Server) accept(w http.ResponseWriter, r *http.Request) url.Values {
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.AccountSID || pass != s.AuthToken {
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return nil
	}
	if r.PathValue("sid") != s.AccountSID {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return nil
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Bad form body")
		return nil
	}
	to := r.PostForm.Get("To")
	s.mu.Lock()
	s.attempts[to]++
	f := s.failures[to]
	fail := f != nil && f.times != 0
	if fail && f.times > 0 {
		f.times--
	}
	s.mu.Unlock()
	switch {
	case fail:
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		writeError(w, f.status, f.code, failureMessage(f.code, to))
	case to == "":
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
	case !e164.MatchString(to):
		writeError(w, http.StatusBadRequest, 21211, failureMessage(21211, to))
	case r.PostForm.Get("From") == "":
		writeError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
	default:
		return s.held(r)
	}
	return nil
}

// held waits for the release of a hold on the request's number, if one
// is set, and returns its form; nil when the client went away first.
func (s *Server) held(r *http.Request) url.Values {
	to := r.PostForm.Get("To")
	s.mu.Lock()
	h := s.holds[to]
	delete(s.holds, to)
	s.mu.Unlock()
	if h == nil {
		return r.PostForm
	}
	close(h.arrived)
	select {
	case <-h.release:
		return r.PostForm
	case <-r.Context().Done():
		return nil
	}
}

func failureMessage(code int, to string) string {
	switch code {
	case 21211:
		return fmt.Sprintf("The 'To' number %s is not a valid phone number.", to)
	case 21610:
		return "Attempt to send to unsubscribed recipient"
	case 20429:
		return "Too Many Requests"
	}
	return "Error " + fmt.Sprint(code)
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	form := s.accept(w, r)
	if form == nil {
		return
	}
	if form.Get("Body") == "" && form.Get("MediaUrl") == "" {
		writeError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	s.mu.Lock()
	m := Message{
		SID:            fmt.Sprintf("SM%032x", len(s.messages)+1),
		To:             form.Get("To"),
		From:           form.Get("From"),
		Body:           form.Get("Body"),
		StatusCallback: form.Get("StatusCallback"),
		Form:           form,
		At:             time.Now(),
	}
	s.messages = append(s.messages, m)
	s.notifyLocked()
	s.mu.Unlock()
	now := time.Now().UTC().Format(time.RFC1123Z)
	writeJSON(w, http.StatusCreated, map[string]any{
		"sid": m.SID, "account_sid": s.AccountSID, "to": m.To, "from": m.From, "body": m.Body,
		"status": "queued", "direction": "outbound-api", "api_version": "2010-04-01",
		"num_segments": "1", "num_media": "0", "date_created": now, "date_updated": now,
		"date_sent": nil, "price": nil, "error_code": nil, "error_message": nil,
		"uri": "/2010-04-01/Accounts/" + s.AccountSID + "/Messages/" + m.SID + ".json",
	})
}

func (s *Server) createCall(w http.ResponseWriter, r *http.Request) {
	form := s.accept(w, r)
	if form == nil {
		return
	}
	if form.Get("Url") == "" && form.Get("Twiml") == "" && form.Get("ApplicationSid") == "" {
		writeError(w, http.StatusBadRequest, 21205, "Url parameter is required.")
		return
	}
	s.mu.Lock()
	c := Call{
		SID:                 fmt.Sprintf("CA%032x", len(s.calls)+1),
		To:                  form.Get("To"),
		From:                form.Get("From"),
		URL:                 form.Get("Url"),
		MachineDetection:    form.Get("MachineDetection"),
		StatusCallback:      form.Get("StatusCallback"),
		StatusCallbackEvent: form["StatusCallbackEvent"],
		Form:                form,
	}
	s.calls = append(s.calls, c)
	s.notifyLocked()
	s.mu.Unlock()
	now := time.Now().UTC().Format(time.RFC1123Z)
	writeJSON(w, http.StatusCreated, map[string]any{
		"sid": c.SID, "account_sid": s.AccountSID, "to": c.To, "from": c.From,
		"status": "queued", "direction": "outbound-api", "api_version": "2010-04-01",
		"date_created": now, "date_updated": now, "start_time": nil, "end_time": nil,
		"uri": "/2010-04-01/Accounts/" + s.AccountSID + "/Calls/" + c.SID + ".json",
	})
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{
		"code": code, "message": msg, "status": status,
		"more_info": "https://www.twilio.com/docs/errors/" + fmt.Sprint(code),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// call finds a recorded call; ok is false when there is none.
func (s *Server) call(sid string) (Call, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		if c.SID == sid {
			return c, true
		}
	}
	return Call{}, false
}

// lastFrom is the number that last texted to, or "" if none.
func (s *Server) lastFrom(to string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.messages) - 1; i >= 0; i-- {
		if s.messages[i].To == to {
			return s.messages[i].From
		}
	}
	return ""
}
