package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/incidenttest"
)

// fuzzTarget is one of the API's requests whose body or query a client
// writes.
type fuzzTarget struct {
	method, path, token string
	query               bool // the input is the query, not the body
}

var fuzzTargets = []fuzzTarget{
	{method: http.MethodPost, path: "/v1/incidents/1/ack", token: botToken},
	{method: http.MethodPost, path: "/v1/incidents/1/resolve", token: botToken},
	{method: http.MethodPost, path: "/v1/incidents/2/escalate", token: botToken},
	{method: http.MethodPost, path: "/v1/incidents/2/snooze", token: botToken},
	{method: http.MethodPost, path: "/v1/incidents/2/notes", token: botToken},
	{method: http.MethodPost, path: "/v1/incidents/2/assign", token: botToken},
	{method: http.MethodPost, path: "/v1/incidents/3/merge", token: botToken},
	{method: http.MethodPost, path: "/v1/users/alice/test-page", token: actToken},
	{method: http.MethodPost, path: "/v1/schedules/primary/overrides", token: adminToken},
	{method: http.MethodGet, path: "/v1/incidents", token: readToken, query: true},
	{method: http.MethodGet, path: "/v1/incidents/2/alerts", token: readToken, query: true},
	{method: http.MethodGet, path: "/v1/incidents/2/timeline", token: readToken, query: true},
	{method: http.MethodGet, path: "/v1/oncall", token: readToken, query: true},
	{method: http.MethodGet, path: "/v1/schedules/primary/oncall", token: readToken, query: true},
	{method: http.MethodGet, path: "/v1/schedules/primary/shifts", token: readToken, query: true},
	{method: http.MethodGet, path: "/v1/schedules/primary/overrides", token: readToken, query: true},
	{method: http.MethodGet, path: "/v1/report", token: readToken, query: true},
}

// FuzzRequests: whatever a client writes in a request's body or query,
// the API answers it, with a 2xx or a 4xx: a 5xx says the store cannot
// answer now, and a client would retry a request that can never succeed.
// The commands are the real engine's, on an embedded store with three
// open incidents.
func FuzzRequests(f *testing.F) {
	r := incidenttest.NewRig(f, time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC))
	for _, group := range []string{"db", "web", "queue"} {
		r.Open(f, group)
	}
	s, _ := testServer(f, func(o *Options) { o.Store, o.Commands, o.Overrides = r.Store, r.Engine, r.Store })
	seeds := []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"by":"alice"}`, `{"by":""}`, `{"duration":"30m"}`, `{"duration":"-1h"}`,
		`{"duration":"1000000h"}`, `{"text":"rolled back","update":true}`, `{"text":""}`, `{"user":"bob","role":"commander"}`,
		`{"user":"bob","role":"scribe"}`, `{"into":"1"}`, `{"into":"3"}`, `{"into":"x"}`, `{"via":"sms"}`, `{"via":"pigeon"}`,
		`{"user":"alice","from":"2026-12-01T00:00:00Z","to":"2026-12-02T00:00:00Z"}`, `{"user":"alice","from":"2026-12-02T00:00:00Z","to":"2026-12-01T00:00:00Z"}`,
		`{"user":"alice","from":"0001-01-01T00:00:00Z","to":"9999-12-31T23:59:59Z"}`,
		`limit=0`, `limit=1001`, `limit=-1`, `before=1`, `before=x`, `state=all`, `state=nope`, `cursor=zz`,
		`at=2026-11-29T03:00:00Z`, `at=x`, `from=2026-11-29T00:00:00Z&to=2026-11-28T00:00:00Z`, `since=1d`, `since=-5d`, `by=policy`, `%zz`,
	}
	for i := range fuzzTargets {
		for _, seed := range seeds {
			f.Add(uint8(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, input string) {
		target := fuzzTargets[int(which)%len(fuzzTargets)]
		var body io.Reader
		if !target.query {
			body = strings.NewReader(input)
		} else if strings.ContainsFunc(input, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '#' }) {
			return // no request line carries it: the server answers 400 before the API
		}
		req := httptest.NewRequest(target.method, target.path, body)
		if target.query {
			req.URL.RawQuery = input
		}
		req.Header.Set("Authorization", "Bearer "+target.token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", target.method, target.path, input, rec.Code, rec.Body)
		}
	})
}
