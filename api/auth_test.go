package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/authlimit"
	"github.com/klaxonhq/klaxon/internal/fakeclock"
	"github.com/klaxonhq/klaxon/notify/email"
	"github.com/klaxonhq/klaxon/schedule"
	"github.com/klaxonhq/klaxon/store/embedded"
)

// The tokens of testServer: one API token per scope, one that may act
// for others, and a feed token of schedule primary.
const (
	readToken  = "t-read"
	actToken   = "t-act"
	adminToken = "t-admin"
	botToken   = "t-bot"
	feedToken  = "t-feed"
)

type fakeTokens struct{}

func (fakeTokens) Integration(string, string) (string, bool) { return "", false }

func (fakeTokens) Caller(token string) (Caller, bool) {
	c, ok := map[string]Caller{
		readToken:  {Name: "reader", Scope: klaxon.ScopeRead},
		actToken:   {Name: "responder", Scope: klaxon.ScopeAct},
		adminToken: {Name: "lead", Scope: klaxon.ScopeAdmin},
		botToken:   {Name: "ops", Scope: klaxon.ScopeAct, ActAs: true},
	}[token]
	return c, ok
}

func (fakeTokens) Feed(token string) (string, string, bool) {
	if token == feedToken {
		return "calendar", "primary", true
	}
	return "", "", false
}

// fakeCommands records who acted, and how long snoozes were.
type fakeCommands struct {
	mu      sync.Mutex
	acts    []klaxon.Actor
	snoozes []time.Duration
}

func (f *fakeCommands) did(who klaxon.Actor) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acts = append(f.acts, who)
}

// Act acts as the engine would, on an incident that it makes up.
func (f *fakeCommands) Act(_ context.Context, a klaxon.Action, id string, who klaxon.Actor) (*klaxon.Incident, error) {
	f.did(who)
	switch a {
	case klaxon.ActionAck:
		return &klaxon.Incident{ID: id, State: klaxon.StateAcknowledged, AckedBy: who.By}, nil
	case klaxon.ActionResolve:
		return &klaxon.Incident{ID: id, State: klaxon.StateResolved}, nil
	}
	return &klaxon.Incident{ID: id, State: klaxon.StateTriggered}, nil
}

func (f *fakeCommands) Note(_ context.Context, id, _ string, _ bool, who klaxon.Actor) (*klaxon.Incident, error) {
	f.did(who)
	return &klaxon.Incident{ID: id}, nil
}

func (f *fakeCommands) Assign(_ context.Context, id, _, user string, who klaxon.Actor) (*klaxon.Incident, error) {
	f.did(who)
	return &klaxon.Incident{ID: id, Assignee: user}, nil
}

func (f *fakeCommands) Merge(_ context.Context, _, dst string, who klaxon.Actor) (*klaxon.Incident, error) {
	f.did(who)
	return &klaxon.Incident{ID: dst}, nil
}

func (f *fakeCommands) Snooze(_ context.Context, id string, d time.Duration, who klaxon.Actor) (*klaxon.Incident, error) {
	f.did(who)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snoozes = append(f.snoozes, d)
	return &klaxon.Incident{ID: id, State: klaxon.StateAcknowledged}, nil
}

// fakeSchedules has schedules primary and secondary, alice always on
// call.
type fakeSchedules map[string]*schedule.Schedule

func (f fakeSchedules) Schedule(name string) (*schedule.Schedule, bool) {
	s, ok := f[name]
	return s, ok
}
func (f fakeSchedules) Names() []string { return []string{"primary", "secondary"} }
func (f fakeSchedules) User(id string) (klaxon.User, bool) {
	return klaxon.User{ID: id}, id == "alice"
}
func (f fakeSchedules) OnCall(context.Context, string, time.Time) ([]string, error) {
	return []string{"alice"}, nil
}
func (f fakeSchedules) Shifts(_ context.Context, _ string, from, to time.Time) ([]schedule.Shift, error) {
	return []schedule.Shift{{User: "alice", Start: from, End: to}}, nil
}

type fakeTester struct{}

func (fakeTester) TestPage(_ context.Context, _, via string) ([]TestResult, error) {
	return []TestResult{{Via: via, Channel: "console", Sent: true}}, nil
}

// testServer is an API server on an embedded store, with fake tokens,
// commands, schedules and test pages; opts change its options.
func testServer(t testing.TB, opts ...func(*Options)) (*Server, *fakeCommands) {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "klaxon.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	schedules := fakeSchedules{}
	for _, name := range []string{"primary", "secondary"} {
		s, err := schedule.New(schedule.Spec{Name: name, TimeZone: "UTC", Layers: []schedule.LayerSpec{{
			Name: "all", Rotation: schedule.RotationSpec{Every: "1w", Handoff: "2026-01-05T09:00"}, Members: []string{"alice"},
		}}})
		require.NoError(t, err)
		schedules[name] = s
	}
	cmds := &fakeCommands{}
	o := Options{
		Store:     st,
		Commands:  cmds,
		Tokens:    fakeTokens{},
		Schedules: schedules,
		Overrides: st,
		Tester:    fakeTester{},
		Log:       slog.New(slog.DiscardHandler),
		Registry:  prometheus.NewRegistry(),
	}
	for _, opt := range opts {
		opt(&o)
	}
	return New(o), cmds
}

// call serves one request and returns its status and body. A token
// starting with "?" goes in the URL as ?token=.
func call(s *Server, method, path, token, body string, header ...string) (int, string) {
	if strings.HasPrefix(token, "?") {
		path += "?token=" + token[1:]
		token = ""
	}
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func errorOf(t *testing.T, body string) errorBody {
	t.Helper()
	var e errorBody
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	return e
}

// scopeRequest is a request to a route, and its status once the token
// has the route's scope.
type scopeRequest struct {
	path, body string
	ok         int
}

// scopeDecision is the scope a route asks of an API token, with requests
// that show it; or, for a route that takes no API token, why.
type scopeDecision struct {
	need    klaxon.Scope
	reqs    []scopeRequest
	noScope string
}

// TestRouteScopes: every route the server registers has a scope decision
// here, so a new route without one fails. Every API route asks for its
// scope: reading takes read; acting on incidents and test pages, act;
// overrides, admin; a wider scope includes the narrower. A token without
// the scope is 403 naming the token and the scope; no token, a wrong one
// or a feed token is 401. The routes that take no API token say why.
func TestRouteScopes(t *testing.T) {
	future := time.Now().Add(time.Hour).UTC()
	override := `{"user": "alice", "from": "` + future.Format(time.RFC3339) + `", "to": "` + future.Add(time.Hour).Format(time.RFC3339) + `"}`
	read, act, admin := klaxon.ScopeRead, klaxon.ScopeAct, klaxon.ScopeAdmin
	decisions := map[string]scopeDecision{
		"GET /v1/incidents":                          {need: read, reqs: []scopeRequest{{"/v1/incidents", "", 200}}},
		"GET /v1/incidents/{id}":                     {need: read, reqs: []scopeRequest{{"/v1/incidents/1", "", 404}}},
		"GET /v1/incidents/{id}/alerts":              {need: read, reqs: []scopeRequest{{"/v1/incidents/1/alerts", "", 404}}},
		"GET /v1/incidents/{id}/timeline":            {need: read, reqs: []scopeRequest{{"/v1/incidents/1/timeline", "", 404}}},
		"GET /v1/incidents/{id}/review.md":           {need: read, reqs: []scopeRequest{{"/v1/incidents/1/review.md", "", 404}}},
		"GET /v1/report":                             {need: read, reqs: []scopeRequest{{"/v1/report?since=7d", "", 200}}},
		"GET /v1/maintenance":                        {need: read, reqs: []scopeRequest{{"/v1/maintenance", "", 404}}},
		"POST /v1/maintenance":                       {need: admin, reqs: []scopeRequest{{"/v1/maintenance", `{"matchers": ["a=\"b\""], "duration": "1h"}`, 404}}},
		"DELETE /v1/maintenance/{id}":                {need: admin, reqs: []scopeRequest{{"/v1/maintenance/1", "", 404}}},
		"GET /v1/oncall":                             {need: read, reqs: []scopeRequest{{"/v1/oncall", "", 200}}},
		"GET /v1/schedules/{name}/oncall":            {need: read, reqs: []scopeRequest{{"/v1/schedules/primary/oncall", "", 200}}},
		"GET /v1/schedules/{name}/shifts":            {need: read, reqs: []scopeRequest{{"/v1/schedules/primary/shifts", "", 200}}},
		"GET /v1/schedules/{file}":                   {need: read, reqs: []scopeRequest{{"/v1/schedules/primary.ics", "", 200}}},
		"GET /v1/schedules/{name}/overrides":         {need: read, reqs: []scopeRequest{{"/v1/schedules/primary/overrides", "", 200}}},
		"POST /v1/users/{id}/test-page":              {need: act, reqs: []scopeRequest{{"/v1/users/alice/test-page", `{"via": "sms"}`, 200}}},
		"POST /v1/schedules/{name}/overrides":        {need: admin, reqs: []scopeRequest{{"/v1/schedules/primary/overrides", override, 201}}},
		"DELETE /v1/schedules/{name}/overrides/{id}": {need: admin, reqs: []scopeRequest{{"/v1/schedules/primary/overrides/nope", "", 404}}},
		"POST /v1/incidents/{id}/{command}": {need: act, reqs: []scopeRequest{
			{"/v1/incidents/1/ack", "", 200},
			{"/v1/incidents/1/resolve", "", 200},
			{"/v1/incidents/1/escalate", "", 200},
			{"/v1/incidents/1/snooze", `{"duration": "30m"}`, 200},
			{"/v1/incidents/1/notes", `{"text": "on it"}`, 200},
			{"/v1/incidents/1/assign", `{"user": "alice"}`, 200},
			{"/v1/incidents/1/merge", `{"into": "2"}`, 200},
		}},
		"POST /v1/ingest/{source}":    {noScope: "an integration's token"},
		"POST /v2/enqueue":            {noScope: "a PagerDuty routing key, an integration's token"},
		"POST /v2/change/enqueue":     {noScope: "a PagerDuty routing key, an integration's token"},
		"POST /v1/heartbeat/{name}":   {noScope: "a heartbeat integration's token"},
		"POST /v1/twilio/sms":         {noScope: "Twilio's signature"},
		"POST /v1/slack/interactions": {noScope: "Slack's signature"},
		"POST /v1/slack/commands":     {noScope: "Slack's signature"},
		"POST /v1/twilio/voice":       {noScope: "Twilio's signature"},
		"POST /v1/twilio/status":      {noScope: "Twilio's signature"},
		"GET /v1/ack/{token}":         {noScope: "a signed mail link; GET acts on nothing"},
		"POST /v1/ack/{token}":        {noScope: "a signed mail link"},
		"GET /healthz":                {noScope: "open: liveness"},
		"GET /readyz":                 {noScope: "open: readiness, from a shared probe"},
		"GET /metrics":                {noScope: "api.metrics_token"},
	}
	s, _ := testServer(t)
	var registered []string
	for pattern := range s.groups {
		registered = append(registered, pattern)
	}
	for pattern := range decisions {
		require.Contains(t, registered, pattern, "a scope decision for a route the server does not register")
	}
	for _, pattern := range registered {
		d, ok := decisions[pattern]
		require.True(t, ok, "route %q (group %s) has no scope decision: add it to TestRouteScopes", pattern, s.groups[pattern])
		if s.groups[pattern] == GroupAPI {
			require.NotEmpty(t, d.need, "API route %q asks for no scope", pattern)
		}
		require.True(t, (d.need == "") != (d.noScope == ""), "route %q: a scope, or why it takes none", pattern)
		if d.need != "" {
			require.NotEmpty(t, d.reqs, "route %q: show its scope", pattern)
		}
	}

	tokens := []struct {
		token, name string
		scope       klaxon.Scope
	}{
		{readToken, "reader", klaxon.ScopeRead},
		{actToken, "responder", klaxon.ScopeAct},
		{adminToken, "lead", klaxon.ScopeAdmin},
	}
	for pattern, d := range decisions {
		method, _, _ := strings.Cut(pattern, " ")
		for _, rq := range d.reqs {
			t.Run(method+" "+rq.path, func(t *testing.T) {
				s, _ := testServer(t) // a limiter of its own
				_, matched := s.mux.Handler(httptest.NewRequest(method, rq.path, nil))
				require.Equal(t, pattern, matched, "the request shows the route it is listed under")
				for _, tok := range tokens {
					code, body := call(s, method, rq.path, tok.token, rq.body)
					if tok.scope.Includes(d.need) {
						require.Equal(t, rq.ok, code, "%s: %s", tok.scope, body)
						continue
					}
					require.Equal(t, http.StatusForbidden, code, "%s: %s", tok.scope, body)
					require.Equal(t, `token "`+tok.name+`" lacks scope "`+string(d.need)+`"`, errorOf(t, body).Error)
				}
				for _, token := range []string{"", "wrong", feedToken} {
					if token == feedToken && strings.HasSuffix(rq.path, ".ics") {
						continue // the feed token's own (TestFeedTokens)
					}
					code, body := call(s, method, rq.path, token, rq.body)
					require.Equal(t, http.StatusUnauthorized, code, "token %q: %s", token, body)
				}
			})
		}
	}
}

// TestForbiddenIsNoFailedAuthentication: a right token without the scope
// is not a failed authentication, so it never brings on the limiter's
// 429; a wrong token still does.
func TestForbiddenIsNoFailedAuthentication(t *testing.T) {
	s, _ := testServer(t)
	for range 2 * authlimit.MaxFailures {
		code, _ := call(s, "POST", "/v1/incidents/1/ack", readToken, "")
		require.Equal(t, http.StatusForbidden, code)
	}
	code, _ := call(s, "GET", "/v1/incidents", "wrong", "")
	require.Equal(t, http.StatusUnauthorized, code, "403s counted as failures")
	for range authlimit.MaxFailures - 1 {
		call(s, "GET", "/v1/incidents", "wrong", "")
	}
	code, _ = call(s, "GET", "/v1/incidents", "wrong", "")
	require.Equal(t, http.StatusTooManyRequests, code)
}

// TestBlockedComparesNoToken: over the limit, the API answers 429 to a
// right token too, so that a guesser cannot tell a right guess; wrong
// metrics tokens count towards the limit.
func TestBlockedComparesNoToken(t *testing.T) {
	s, _ := testServer(t, func(o *Options) { o.MetricsToken = func() string { return "metrics-token-0123" } })
	for range authlimit.MaxFailures / 2 {
		code, _ := call(s, "GET", "/metrics", "wrong", "")
		require.Equal(t, http.StatusUnauthorized, code)
	}
	for range authlimit.MaxFailures - authlimit.MaxFailures/2 {
		code, _ := call(s, "GET", "/v1/incidents", "wrong", "")
		require.Equal(t, http.StatusUnauthorized, code)
	}
	code, body := call(s, "GET", "/v1/incidents", readToken, "")
	require.Equal(t, http.StatusTooManyRequests, code, "the right token, over the limit: %s", body)
	code, _ = call(s, "GET", "/v1/schedules/primary.ics", readToken, "")
	require.Equal(t, http.StatusTooManyRequests, code)
	code, _ = call(s, "GET", "/metrics", "metrics-token-0123", "")
	require.Equal(t, http.StatusOK, code, "a scrape is never refused its right token")
}

// TestActingFor: a command acts as its token, unless the token may act
// for others (act_as) and names someone in by; then the person and the
// token are both recorded. A token that may not act for others and names
// someone is refused, not ignored.
func TestActingFor(t *testing.T) {
	for _, tc := range []struct {
		name, token, body string
		cli               bool
		code              int
		field             string
		want              klaxon.Actor
	}{
		{name: "no by: the token acts", token: actToken, code: 200, want: klaxon.Actor{By: "responder", How: "api"}},
		{name: "by names the token itself", token: actToken, body: `{"by": "responder"}`, code: 200, want: klaxon.Actor{By: "responder", How: "api"}},
		{name: "by without act_as", token: actToken, body: `{"by": "alice"}`, code: 403, field: "by"},
		{name: "by without act_as, even for admin", token: adminToken, body: `{"by": "alice"}`, code: 403, field: "by"},
		{name: "act_as: the person, via the token", token: botToken, body: `{"by": "alice"}`, code: 200, want: klaxon.Actor{By: "alice", How: "api", ViaToken: "ops"}},
		{name: "act_as from the CLI", token: botToken, body: `{"by": "alice"}`, cli: true, code: 200, want: klaxon.Actor{By: "alice", How: "cli", ViaToken: "ops"}},
		{name: "act_as without by: the token acts", token: botToken, code: 200, want: klaxon.Actor{By: "ops", How: "api"}},
		{name: "act_as for no user", token: botToken, body: `{"by": "mallory"}`, code: 400, field: "by"},
		{name: "by too long", token: botToken, body: `{"by": "` + strings.Repeat("a", maxBy+1) + `"}`, code: 400, field: "by"},
		{name: "read scope is checked first", token: readToken, body: `{"by": "alice"}`, code: 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, cmds := testServer(t)
			var header []string
			if tc.cli {
				header = []string{"User-Agent", "klaxon-cli/v1"}
			}
			code, body := call(s, "POST", "/v1/incidents/7/ack", tc.token, tc.body, header...)
			require.Equal(t, tc.code, code, body)
			if code != 200 {
				e := errorOf(t, body)
				require.Equal(t, tc.field, e.Field)
				if tc.code == 403 && tc.field == "by" {
					require.Contains(t, e.Error, "may not act for others")
					require.Contains(t, e.Error, "act_as: true")
				}
				if strings.Contains(tc.body, "mallory") {
					require.Contains(t, e.Error, `no user "mallory"`)
				}
				require.Empty(t, cmds.acts, "a refused command does nothing")
				return
			}
			require.Equal(t, []klaxon.Actor{tc.want}, cmds.acts)
		})
	}
}

// TestFeedTokens: a schedule's calendar feed takes its feed token as
// ?token= or bearer, and an API token as bearer only; a feed token reads
// its own schedule's feed and nothing else.
func TestFeedTokens(t *testing.T) {
	s, _ := testServer(t)
	for _, tc := range []struct {
		name, path, token string
		code              int
		msg               string
	}{
		{"feed token in the URL", "/v1/schedules/primary.ics", "?" + feedToken, 200, ""},
		{"feed token as bearer", "/v1/schedules/primary.ics", feedToken, 200, ""},
		{"API token as bearer", "/v1/schedules/primary.ics", readToken, 200, ""},
		{"API token in the URL", "/v1/schedules/primary.ics", "?" + readToken, 401, `an API token does not go in a URL: give calendar apps a feed token of schedule "primary" (api.feed_tokens)`},
		{"admin token in the URL", "/v1/schedules/primary.ics", "?" + adminToken, 401, "feed token"},
		{"wrong token in the URL", "/v1/schedules/primary.ics", "?nope", 401, "missing or wrong feed token"},
		{"no token", "/v1/schedules/primary.ics", "", 401, "missing or wrong feed token"},
		{"another schedule's feed", "/v1/schedules/secondary.ics", "?" + feedToken, 403, `feed token "calendar" reads the feed of schedule "primary" only`},
		{"the schedule's shifts", "/v1/schedules/primary/shifts", feedToken, 401, "API token"},
		{"who is on call", "/v1/oncall", feedToken, 401, "API token"},
		{"incidents", "/v1/incidents", feedToken, 401, "API token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(s, "GET", tc.path, tc.token, "")
			require.Equal(t, tc.code, code, body)
			if code == 200 {
				require.True(t, strings.HasPrefix(body, "BEGIN:VCALENDAR\r\n"), body)
				return
			}
			require.Contains(t, errorOf(t, body).Error, tc.msg)
		})
	}

	// A listener that serves the feeds and not the API takes no API
	// token, nor says that one is one.
	t.Run("no API token where the API is not served", func(t *testing.T) {
		feed, err := s.Only(GroupFeed, GroupWeb)
		require.NoError(t, err)
		for _, tc := range []struct{ token, query string }{{token: readToken}, {token: adminToken}, {query: "?token=" + readToken}, {token: feedToken}} {
			req := httptest.NewRequest("GET", "/v1/schedules/primary.ics"+tc.query, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			feed.ServeHTTP(rec, req)
			if tc.token == feedToken {
				require.Equal(t, http.StatusOK, rec.Code, "a feed token still reads its feed")
				continue
			}
			require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
			require.Contains(t, errorOf(t, rec.Body.String()).Error, "missing or wrong feed token")
		}
	})

	t.Run("guessing feed tokens is limited", func(t *testing.T) {
		s, _ := testServer(t)
		for range authlimit.MaxFailures {
			code, _ := call(s, "GET", "/v1/schedules/primary.ics", "?guess", "")
			require.Equal(t, http.StatusUnauthorized, code)
		}
		code, _ := call(s, "GET", "/v1/schedules/primary.ics", "?guess", "")
		require.Equal(t, http.StatusTooManyRequests, code)
	})
}

// TestExpiredLinksAreNoFailedAuthentication: a mail link past its
// expiry is one Klaxon signed (its signature is checked before its
// expiry): opening it is no guess, and answers 410 however many are
// opened, as a used or outdated link does. Counted as failed
// authentications, a responder going through the night's pages, or a
// mail scanner following them, would lock their address out of the API
// and the console's sign-in.
func TestExpiredLinksAreNoFailedAuthentication(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC))
	links := email.NewLinks([]byte("link secret"), 24*time.Hour, clock.Now)
	s, _ := testServer(t, func(o *Options) { o.Links = links; o.Now = clock.Now })
	var mailed []string
	for n := range 2 * authlimit.MaxFailures {
		mailed = append(mailed, links.Sign("1", n+1, "alice", email.ActionAck))
	}
	clock.Add(25 * time.Hour)
	for i, token := range mailed {
		code, body := call(s, http.MethodGet, email.AckPath+token, "", "")
		require.Equal(t, http.StatusGone, code, "expired link %d: %.200s", i, body)
	}
	code, body := call(s, http.MethodGet, "/v1/incidents", readToken, "")
	require.Equal(t, http.StatusOK, code, "the responder's API token, after opening expired links: %.200s", body)
}
