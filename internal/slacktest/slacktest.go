// Package slacktest is a fake Slack for tests: an HTTP server on loopback
// that speaks the part of Slack's Web API that Klaxon uses
// (chat.postMessage, chat.update, chat.delete, conversations.open,
// users.info), records the messages it was asked to post and not to
// delete, takes a channel's name for its ID as Slack does, answers 429
// on demand or past a rate limit, takes
// the answers posted to an interaction's response_url, and builds button
// presses and slash commands signed as Slack signs them.
//
// Point the real slack-go client at APIURL with the server's BotToken.
package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults of a new Server.
const (
	BotToken      = "xoxb-0000000000-0000000000000-klaxontestbottoken00"
	SigningSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	// TeamID is the workspace the fake's users and channels are in.
	TeamID = "T0KLAXON1"
)

// maxBody bounds a request body; Slack's limit on a message is 40,000
// characters of text and 50 blocks.
const maxBody = 1 << 20

// Message is a message the fake accepted, as it stands after any updates.
type Message struct {
	Channel string
	TS      string
	// ThreadTS is the message this one replies to; "" for a message of
	// its own.
	ThreadTS string
	Text     string
	// Blocks is the blocks field as sent: a JSON array, or "" for none.
	Blocks string
	// Updates counts the chat.update calls that changed it.
	Updates int
}

// Call is one Web API request that the fake received, failed ones
// included.
type Call struct {
	Method string
	// Form is the request's fields: a form body, or a JSON object's
	// members as strings (objects and arrays as their JSON).
	Form url.Values
	// Status is the HTTP status the fake answered.
	Status int
}

// Response is an answer Klaxon posted to an interaction's response_url.
type Response struct {
	// ID is the last path element of the response URL.
	ID              string
	ResponseType    string `json:"response_type"`
	Text            string `json:"text"`
	ReplaceOriginal bool   `json:"replace_original"`
}

// Server is a fake Slack. Its methods are safe for concurrent use.
type Server struct {
	// APIURL is the Web API's base URL, ending in "/": pass it to
	// slack.OptionAPIURL in place of https://slack.com/api/.
	APIURL        string
	BotToken      string
	SigningSecret string

	srv *httptest.Server

	mu        sync.Mutex
	messages  []Message
	calls     []Call
	users     map[string]string // Slack user ID -> name
	dms       map[string]string // Slack user ID -> DM channel ID
	opened    int               // DMs opened, closed ones included
	channels  map[string]string // channel name (no #) -> ID
	limited   int               // calls left to answer 429
	after     time.Duration     // their Retry-After
	responses []Response
	ts        int
	// buckets are the rate limits set by ChannelLimit and MethodLimit,
	// by "method channel" (channel "" for a method's own limit).
	buckets map[string]*bucket
	limits  map[string]limit // by method
	// posted is when each message was taken, by channel and ts.
	posted map[[2]string]time.Time
}

// limit is a token bucket's rule: one call per every, burst at once.
type limit struct {
	every      time.Duration
	burst      int
	perChannel bool
}

// bucket is a token bucket: tokens at last.
type bucket struct {
	tokens float64
	last   time.Time
}

// Start runs a fake Slack on a free loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		BotToken:      BotToken,
		SigningSecret: SigningSecret,
		users:         map[string]string{},
		dms:           map[string]string{},
		channels:      map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.api)
	mux.HandleFunc("POST /response/{id}", s.response)
	s.srv = httptest.NewServer(mux)
	s.APIURL = s.srv.URL + "/api/"
	t.Cleanup(s.srv.Close)
	return s
}

// Client is an HTTP client that serves requests to the fake in-process,
// with no socket: for a test under testing/synctest, whose clock moves
// only while the bubble's goroutines wait on it, never on the network.
// Start the fake outside the bubble.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: inProcess{s.srv.Config.Handler}}
}

// inProcess is a RoundTripper that serves each request with a handler.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// AddUser makes a workspace member of Slack user id (such as "U0ALICE")
// named name: conversations.open and users.info know only these.
func (s *Server) AddUser(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = name
}

// AddChannel makes name (such as "ops") the name of channel id (such as
// "C0OPS"): a call naming it "#ops" or "ops" is a call to id, limited as
// id (ChannelLimit), and answered with id, as Slack answers.
func (s *Server) AddChannel(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[name] = id
}

// CloseDM closes the DM opened with user, as when the conversation is
// gone: a post to it answers channel_not_found, and conversations.open
// opens another.
func (s *Server) CloseDM(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.dms, user)
}

// RateLimit makes the next n Web API calls answer 429 Too Many Requests
// with Retry-After set to retryAfter (in whole seconds), as Slack answers
// an app over its rate limit.
func (s *Server) RateLimit(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited, s.after = n, retryAfter
}

// ChannelLimit makes method (such as "chat.postMessage") take at most
// one call a channel per every, after a burst of burst, as Slack limits
// chat.postMessage to about one message a second per channel: a call
// over it answers 429 with a Retry-After of the whole seconds until the
// channel takes one again (at least 1). The clock is time.Now.
func (s *Server) ChannelLimit(method string, every time.Duration, burst int) {
	s.setLimit(method, limit{every: every, burst: burst, perChannel: true})
}

// MethodLimit makes method take at most one call per every across
// channels, after a burst of burst, as Slack's tiers limit a method per
// workspace (chat.update: Tier 3, about 50 a minute).
func (s *Server) MethodLimit(method string, every time.Duration, burst int) {
	s.setLimit(method, limit{every: every, burst: burst})
}

func (s *Server) setLimit(method string, l limit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limits == nil {
		s.limits, s.buckets = map[string]limit{}, map[string]*bucket{}
	}
	s.limits[method] = l
}

// throttled takes a token of method's limit for form's channel, and
// reports the wait when there is none; s.mu is held.
func (s *Server) throttled(method string, form url.Values) (time.Duration, bool) {
	l, ok := s.limits[method]
	if !ok {
		return 0, false
	}
	key := method
	if l.perChannel {
		key += " " + form.Get("channel")
	}
	now := time.Now()
	b, ok := s.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(l.burst), last: now}
		s.buckets[key] = b
	}
	b.tokens = min(float64(l.burst), b.tokens+float64(now.Sub(b.last))/float64(l.every))
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, false
	}
	wait := time.Duration((1 - b.tokens) * float64(l.every))
	return wait, true
}

// PostedAt is when the fake took message ts of channel, by time.Now (a
// synctest bubble's clock when served in-process from one); zero when
// it took none.
func (s *Server) PostedAt(channel, ts string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posted[[2]string{channel, ts}]
}

// Messages returns every message accepted so far and not deleted, in
// the order posted.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Calls returns every Web API request received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// DM is the ID of the direct message channel that conversations.open
// opened with user; "" when none was.
func (s *Server) DM(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dms[user]
}

// ResponseURL is a response_url for an interaction or a slash command,
// as Slack gives one: answers posted to it are kept under id.
func (s *Server) ResponseURL(id string) string {
	return s.srv.URL + "/response/" + url.PathEscape(id)
}

// Responses returns the answers posted to response URLs so far.
func (s *Server) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Response(nil), s.responses...)
}

// api serves a Web API method as Slack does: HTTP 200 with ok false and
// an error code for a call Slack refuses, 429 when rate limited.
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	form, err := readFields(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Method: method, Form: form, Status: http.StatusOK}
	defer func() { s.calls = append(s.calls, call) }()
	form = s.byID(form)
	if s.limited > 0 {
		s.limited--
		call.Status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(int(s.after/time.Second)))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	if wait, ok := s.throttled(method, form); ok {
		call.Status = http.StatusTooManyRequests
		secs := max(1, int((wait+time.Second-1)/time.Second))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	token := form.Get("token")
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = bearer
	}
	switch {
	case token == "":
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "not_authed"})
		return
	case token != s.BotToken:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	var answer map[string]any
	switch method {
	case "chat.postMessage":
		answer = s.postMessage(form)
	case "chat.update":
		answer = s.update(form)
	case "chat.delete":
		answer = s.delete(form)
	case "conversations.open":
		answer = s.open(form)
	case "users.info":
		answer = s.userInfo(form)
	default:
		answer = map[string]any{"ok": false, "error": "unknown_method"}
	}
	writeJSON(w, http.StatusOK, answer)
}

// byID is form with its channel, when it names one by its name, named
// by its ID; the call's record keeps what was sent.
func (s *Server) byID(form url.Values) url.Values {
	id, ok := s.channels[strings.TrimPrefix(form.Get("channel"), "#")]
	if !ok {
		return form
	}
	out := url.Values{}
	for k, v := range form {
		out[k] = v
	}
	out.Set("channel", id)
	return out
}

// knownChannel reports whether a message may be posted to channel: a
// public or private channel ("C…", "G…"), or a DM the fake opened.
func (s *Server) knownChannel(channel string) bool {
	if strings.HasPrefix(channel, "C") || strings.HasPrefix(channel, "G") {
		return true
	}
	for _, dm := range s.dms {
		if dm == channel {
			return true
		}
	}
	return false
}

func (s *Server) postMessage(form url.Values) map[string]any {
	channel := form.Get("channel")
	switch {
	case !s.knownChannel(channel):
		return map[string]any{"ok": false, "error": "channel_not_found"}
	case form.Get("text") == "" && form.Get("blocks") == "":
		return map[string]any{"ok": false, "error": "no_text"}
	case !validBlocks(form.Get("blocks")):
		return map[string]any{"ok": false, "error": "invalid_blocks"}
	}
	if thread := form.Get("thread_ts"); thread != "" && s.find(channel, thread) < 0 {
		return map[string]any{"ok": false, "error": "thread_not_found"}
	}
	s.ts++
	m := Message{Channel: channel, TS: fmt.Sprintf("1767225600.%06d", s.ts), ThreadTS: form.Get("thread_ts"),
		Text: form.Get("text"), Blocks: form.Get("blocks")}
	if s.posted == nil {
		s.posted = map[[2]string]time.Time{}
	}
	s.posted[[2]string{channel, m.TS}] = time.Now()
	s.messages = append(s.messages, m)
	return map[string]any{"ok": true, "channel": channel, "ts": m.TS,
		"message": map[string]any{"type": "message", "text": m.Text, "ts": m.TS, "thread_ts": m.ThreadTS}}
}

func (s *Server) update(form url.Values) map[string]any {
	channel, ts := form.Get("channel"), form.Get("ts")
	i := s.find(channel, ts)
	switch {
	case !s.knownChannel(channel):
		return map[string]any{"ok": false, "error": "channel_not_found"}
	case i < 0:
		return map[string]any{"ok": false, "error": "message_not_found"}
	case form.Get("text") == "" && form.Get("blocks") == "":
		return map[string]any{"ok": false, "error": "no_text"}
	case !validBlocks(form.Get("blocks")):
		return map[string]any{"ok": false, "error": "invalid_blocks"}
	}
	m := &s.messages[i]
	m.Text, m.Blocks = form.Get("text"), form.Get("blocks")
	m.Updates++
	return map[string]any{"ok": true, "channel": channel, "ts": ts, "text": m.Text}
}

// delete removes a message, as Slack does one of the bot's own; its
// replies, if any, stay.
func (s *Server) delete(form url.Values) map[string]any {
	channel, ts := form.Get("channel"), form.Get("ts")
	i := s.find(channel, ts)
	switch {
	case !s.knownChannel(channel):
		return map[string]any{"ok": false, "error": "channel_not_found"}
	case i < 0:
		return map[string]any{"ok": false, "error": "message_not_found"}
	}
	s.messages = append(s.messages[:i], s.messages[i+1:]...)
	return map[string]any{"ok": true, "channel": channel, "ts": ts}
}

func (s *Server) open(form url.Values) map[string]any {
	user := form.Get("users")
	if user == "" || strings.Contains(user, ",") {
		return map[string]any{"ok": false, "error": "not_enough_users"}
	}
	if _, ok := s.users[user]; !ok {
		return map[string]any{"ok": false, "error": "user_not_found"}
	}
	dm, already := s.dms[user]
	if !already {
		s.opened++
		dm = fmt.Sprintf("D%08d", s.opened)
		s.dms[user] = dm
	}
	return map[string]any{"ok": true, "already_open": already, "channel": map[string]any{"id": dm, "is_im": true, "user": user}}
}

func (s *Server) userInfo(form url.Values) map[string]any {
	id := form.Get("user")
	name, ok := s.users[id]
	if !ok {
		return map[string]any{"ok": false, "error": "user_not_found"}
	}
	return map[string]any{"ok": true, "user": map[string]any{"id": id, "team_id": TeamID, "name": name, "real_name": name}}
}

// find is the index of the message ts in channel, or -1.
func (s *Server) find(channel, ts string) int {
	for i, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return i
		}
	}
	return -1
}

// validBlocks reports whether blocks is empty or a JSON array of objects
// that each have a type, as Slack requires.
func validBlocks(blocks string) bool {
	if blocks == "" {
		return true
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(blocks), &list); err != nil || len(list) > 50 {
		return false
	}
	for _, b := range list {
		if typ, _ := b["type"].(string); typ == "" {
			return false
		}
	}
	return true
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	var resp Response
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&resp); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	resp.ID = r.PathValue("id")
	s.mu.Lock()
	s.responses = append(s.responses, resp)
	s.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

// readFields reads a Web API request's fields, from a form body or a JSON
// object, as slack-go sends either.
func readFields(r *http.Request) (url.Values, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, err
	}
	typ, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if typ != "application/json" {
		return url.ParseQuery(string(body))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, err
	}
	form := url.Values{}
	for k, raw := range obj {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			form.Set(k, s)
		} else {
			form.Set(k, string(raw))
		}
	}
	return form, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
