package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
	"github.com/klaxonhq/klaxon/schedule"
	"github.com/klaxonhq/klaxon/web"
)

// t0 is a Monday, 10:00 in New York.
var t0 = time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)

// Tokens of the rig, one per scope, and alice's own web token.
const (
	readToken  = "read-token-0123456789"
	actToken   = "act-token-0123456789"
	adminToken = "admin-token-0123456789"
	aliceToken = "alice-web-token-0123"
)

// tokens is the config's tokens, which a test may change as a reload
// would.
type tokens struct {
	mu     sync.Mutex
	byName map[string]string // kind/name → token
	ids    map[string]web.Identity
}

func newTokens() *tokens {
	ts := &tokens{byName: map[string]string{}, ids: map[string]web.Identity{}}
	for token, id := range map[string]web.Identity{
		readToken:  {Kind: web.KindToken, Name: "dashboard", Display: "dashboard", Scope: klaxon.ScopeRead},
		actToken:   {Kind: web.KindToken, Name: "oncall", Display: "oncall", Scope: klaxon.ScopeAct},
		adminToken: {Kind: web.KindToken, Name: "ops", Display: "ops", Scope: klaxon.ScopeAdmin},
		aliceToken: {Kind: web.KindUser, Name: "alice", Display: "Alice Chen", Scope: klaxon.ScopeAct},
	} {
		ts.set(token, id)
	}
	return ts
}

func (ts *tokens) set(token string, id web.Identity) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.byName[id.Kind+"/"+id.Name] = token
	ts.ids[token] = id
}

// rotate replaces the token of kind/name, as a changed config would.
func (ts *tokens) rotate(kind, name, token string) {
	ts.mu.Lock()
	old := ts.byName[kind+"/"+name]
	id := ts.ids[old]
	delete(ts.ids, old)
	ts.mu.Unlock()
	ts.set(token, id)
}

func (ts *tokens) SignIn(token string) (web.Identity, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	id, ok := ts.ids[token]
	return id, ok
}

func (ts *tokens) Current(kind, name string) (web.Identity, string, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	token, ok := ts.byName[kind+"/"+name]
	return ts.ids[token], token, ok
}

// view is a config of two users, one policy and one schedule, with the
// runtime overrides of the rig's store.
type view struct {
	book     *schedule.Book
	users    []klaxon.User
	policies []klaxon.Policy
}

func (v view) Users() []klaxon.User { return v.users }
func (v view) User(id string) (klaxon.User, bool) {
	for _, u := range v.users {
		if u.ID == id {
			return u, true
		}
	}
	return klaxon.User{}, false
}
func (v view) Policies() []klaxon.Policy { return v.policies }
func (v view) Names() []string           { return v.book.Names() }
func (v view) Schedule(name string) (*schedule.Schedule, bool) {
	return v.book.Schedule(name)
}
func (v view) OnCall(ctx context.Context, name string, t time.Time) ([]string, error) {
	return v.book.OnCall(ctx, name, t)
}
func (v view) Timeline(ctx context.Context, name string, from, to time.Time) (schedule.Timeline, error) {
	return v.book.Timeline(ctx, name, from, to)
}

// rig is the console on an embedded store and the real engine's
// commands, on a fake clock, served over loopback.
type rig struct {
	*incidenttest.Rig
	tokens *tokens
	srv    *httptest.Server
}

// newRig starts the rig's console; each of with changes its options.
func newRig(t testing.TB, with ...func(*web.Options)) *rig {
	t.Helper()
	r := &rig{Rig: incidenttest.NewRig(t, t0), tokens: newTokens()}
	primary, err := schedule.New(schedule.Spec{Name: "primary", TimeZone: "America/New_York", Layers: []schedule.LayerSpec{
		{Name: "weekly", Rotation: schedule.RotationSpec{Every: "1w", Handoff: "2026-11-02T09:00"}, Members: []string{"alice", "bob"}},
	}})
	require.NoError(t, err)
	v := view{
		book:     schedule.NewBook(map[string]*schedule.Schedule{"primary": primary}, r.Store),
		users:    []klaxon.User{{ID: "alice", Name: "Alice Chen", Phone: "+15550100001"}, {ID: "bob", Name: "Bob Li"}},
		policies: []klaxon.Policy{{Name: "default", Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetSchedule, Name: "primary"}}, EscalateAfter: 5 * time.Minute}, {Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "bob"}}}}}},
	}
	o := web.Options{Incidents: r.Store, Commands: r.Engine, Tokens: r.tokens, Overrides: r.Store, SignedOut: r.Store,
		View: func() web.View { return v }, Key: []byte("0123456789abcdef0123456789abcdef"), Now: r.Clock.Now}
	for _, f := range with {
		f(&o)
	}
	c, err := web.New(o)
	require.NoError(t, err)
	r.srv = httptest.NewServer(c)
	t.Cleanup(r.srv.Close)
	return r
}

// browser is a client with its own cookies, that does not follow
// redirects: a test sees each answer.
type browser struct {
	t    *testing.T
	r    *rig
	http *http.Client
}

func (r *rig) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, r: r, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signedIn returns a browser signed in with token.
func (r *rig) signedIn(t *testing.T, token string) *browser {
	b := r.browser(t)
	code, _, loc := b.post("/login", url.Values{"token": {token}, "next": {"/incidents"}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, "/incidents", loc)
	return b
}

func (b *browser) do(req *http.Request) (code int, body, location string) {
	b.t.Helper()
	resp, err := b.http.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp.StatusCode, string(raw), resp.Header.Get("Location")
}

func (b *browser) get(path string) (code int, body, location string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.r.srv.URL+path, nil)
	require.NoError(b.t, err)
	return b.do(req)
}

// post posts form to path as the browser's own page would: from the
// same origin.
func (b *browser) post(path string, form url.Values) (code int, body, location string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.r.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token off a page the browser may see.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	code, body, _ := b.get(path)
	require.Equal(b.t, http.StatusOK, code, body)
	m := csrfField.FindStringSubmatch(body)
	require.NotNil(b.t, m, "no CSRF token on %s", path)
	return m[1]
}
