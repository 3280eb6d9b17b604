package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/internal/app"
	"github.com/klaxonhq/klaxon/internal/klaxontest"
	"github.com/klaxonhq/klaxon/internal/syncbuf"
)

// Tokens of the test config.
const (
	apiToken = "test-api-token"
	// readToken may only read; apiToken may do everything, and act for
	// others.
	readToken = "test-read-token"
	// feedToken reads the calendar feed of schedule primary
	// (writeScheduleConfig).
	feedToken    = "test-feed-token"
	amToken      = "test-am-token"
	ddToken      = "test-dd-token"
	genericToken = "test-generic-token"
	// pdRoutingKey is the routing key of the PagerDuty fixtures.
	pdRoutingKey = "R0UTINGKEY0000000000000000000001"
)

// writeConfig writes a config with a two-step policy (alice by SMS, then
// bob by email, escalate_after each) into a new folder and returns the
// path of its klaxon.yaml.
func writeConfig(t testing.TB, escalateAfter time.Duration) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"klaxon.yaml": `listen: 127.0.0.1:0
store: {path: data/klaxon.db}
api:
  tokens:
    - {name: ops, token: ` + apiToken + `, scopes: [admin], act_as: true}
    - {name: viewer, token: ` + readToken + `, scopes: [read]}
integrations:
  - {name: prometheus, type: alertmanager, token: ` + amToken + `}
  - {name: datadog, type: datadog, token: ` + ddToken + `}
  - {name: tools, type: pagerduty, token: ` + pdRoutingKey + `, labels: {team: tools-team}}
  - {name: generic, type: generic, token: ` + genericToken + `}
route:
  policy: oncall
  group_by: [alertname, service]
policies: policies/
users: users.yaml
notify:
  console: {}
`,
		"policies/oncall.yaml": `name: oncall
steps:
  - targets: [user:alice]
    escalate_after: ` + escalateAfter.String() + `
  - targets: [user:bob]
    escalate_after: ` + escalateAfter.String() + `
`,
		"users.yaml": `users:
  - {id: alice, name: Alice Chen, phone: "+15550100001", notify: [{via: sms, after: 0s}]}
  - {id: bob, name: Bob Ortiz, email: bob@example.com, notify: [{via: email, after: 0s}]}
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return filepath.Join(dir, "klaxon.yaml")
}

// logs collects a server's log lines and finds its listen address.
type logs struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	addr  chan string
	found bool
}

func newLogs() *logs { return &logs{addr: make(chan string, 1)} }

var listenRE = regexp.MustCompile(`msg="klaxon listening" addr=(\S+)`)

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.found {
		if m := listenRE.FindStringSubmatch(l.buf.String()); m != nil {
			l.found = true
			l.addr <- m[1]
		}
	}
	return len(p), nil
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// page is one console page as logged.
type page struct{ incident, user, via, text string }

var fieldRE = regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S*)`)

// pages returns the console pages logged so far, in order.
func (l *logs) pages() []page {
	var out []page
	for line := range strings.Lines(l.String()) {
		f := map[string]string{}
		for _, m := range fieldRE.FindAllStringSubmatch(line, -1) {
			v := m[2]
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
			f[m[1]] = v
		}
		if f["msg"] == "page" {
			out = append(out, page{f["incident"], f["user"], f["via"], f["text"]})
		}
	}
	return out
}

// pagesFor returns the pages of one incident.
func (l *logs) pagesFor(id string) []page {
	var out []page
	for _, p := range l.pages() {
		if p.incident == id {
			out = append(out, p)
		}
	}
	return out
}

// startServe runs `klaxon serve` in-process, built from its flags as
// serve builds it, and returns its base URL, what it logged and paged on
// the console, and a function that stops it (as SIGTERM would) and
// waits.
func startServe(t *testing.T, config string, flags ...string) (string, *served, func()) {
	t.Helper()
	o, _, err := serveOptions(append([]string{"--config", config}, flags...), io.Discard)
	require.NoError(t, err)
	s := &served{}
	o.Log, o.Console = slog.New(slog.NewTextHandler(&s.log, nil)), s
	a, stop := klaxontest.Serve(t, o)
	return "http://" + a.Addrs()[0], s, stop
}

// startServeAt is startServe on a loopback address picked before Klaxon
// starts, for a config whose public URL names it: at writes the address
// into the config. When another process takes the address before Klaxon
// listens on it, another is picked and written.
func startServeAt(t *testing.T, config string, at func(addr string)) (string, *served) {
	t.Helper()
	var s *served
	a, _ := klaxontest.ServeAt(t, func(addr string) app.Options {
		at(addr)
		o, _, err := serveOptions([]string{"--config", config}, io.Discard)
		require.NoError(t, err)
		s = &served{}
		o.Log, o.Console = slog.New(slog.NewTextHandler(&s.log, nil)), s
		return o
	})
	return "http://" + a.Addrs()[0], s
}

// served is what a Klaxon run by startServe logged, and the pages its
// console took.
type served struct {
	log  syncbuf.Buffer
	mu   sync.Mutex
	sent []page
}

func (s *served) Send(_ context.Context, p klaxon.Page) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, page{p.Incident, p.User.ID, p.Via, p.Text})
	return nil
}

func (s *served) String() string { return s.log.String() }

// pagesFor returns the console pages of one incident, in order.
func (s *served) pagesFor(id string) []page {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []page
	for _, p := range s.sent {
		if p.incident == id {
			out = append(out, p)
		}
	}
	return out
}

// post sends body to path with a bearer token and returns the status and
// the decoded JSON answer.
func post(t *testing.T, url, token, contentType string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

// postFixture posts a testdata file to the Alertmanager webhook and
// requires it to be accepted.
func postFixture(t *testing.T, base, name string) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	code, out := post(t, base+"/v1/ingest/alertmanager", amToken, "application/json", body)
	require.Equal(t, http.StatusOK, code, "%s: %v", name, out)
}

// getJSON GETs path with the API token into out.
func getJSON(t testing.TB, url string, out any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
}

func listIncidents(t testing.TB, base, state string) []*klaxon.Incident {
	t.Helper()
	var list api.IncidentList
	getJSON(t, base+"/v1/incidents?state="+state, &list)
	return list.Incidents
}

func getIncident(t testing.TB, base, id string) *api.IncidentView {
	t.Helper()
	var inc api.IncidentView
	getJSON(t, base+"/v1/incidents/"+id+"?limit=1000", &inc)
	require.Empty(t, inc.AlertsNext, "more alerts than a test expects")
	require.Len(t, inc.Timeline, inc.TimelineTotal, "more events than a test expects")
	return &inc
}

// findIncident returns the newest incident whose labels include alertname.
func findIncident(t *testing.T, base, alertname string) *api.IncidentView {
	t.Helper()
	for _, inc := range listIncidents(t, base, "all") {
		if inc.Labels["alertname"] == alertname {
			return getIncident(t, base, inc.ID)
		}
	}
	t.Fatalf("no incident for %s", alertname)
	return nil
}

func eventKinds(inc *api.IncidentView) []klaxon.EventKind {
	var k []klaxon.EventKind
	for _, e := range inc.Timeline {
		k = append(k, e.Kind)
	}
	return k
}

// waitFor polls cond until it holds, and fails t when it still does not
// after 15 s. cond runs on the test's goroutine, so it may use require.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, what, 15*time.Second, cond)
}

// waitWithin is waitFor with a deadline of its own: for waits whose
// bound is part of what a test checks (a page on time), or that take
// long.
func waitWithin(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not so after %s: %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readTestdata(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }
