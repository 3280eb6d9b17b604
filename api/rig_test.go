package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/escalate"
	"github.com/klaxonhq/klaxon/notify/email"
	"github.com/klaxonhq/klaxon/store/embedded"
)

var t0 = time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)

const alicePhone = "+15550100001"

// clock is a settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var alice = klaxon.User{ID: "alice", Phone: alicePhone, Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}}}

type nobody struct{}

func (nobody) Notify(_ context.Context, _ klaxon.Page) error { return nil }

// users are the users of the config, which a test may change as a
// reload would.
type users struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (u *users) User(id string) (klaxon.User, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return klaxon.User{ID: id}, u.ids[id]
}

func (u *users) remove(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.ids, id)
}

// flaky is a store whose next commits fail as a store that cannot write
// fails.
type flaky struct {
	*embedded.Store
	failures atomic.Int32
}

func (f *flaky) Commit(ctx context.Context, c klaxon.Commit) error {
	if f.failures.Add(-1) >= 0 {
		return fmt.Errorf("commit: no space left on device: %w", klaxon.ErrUnavailable)
	}
	f.failures.Store(0)
	return f.Store.Commit(ctx, c)
}

// rig is the API on an embedded store and the real engine's commands,
// on a fake clock.
type rig struct {
	st    *embedded.Store
	clock *clock
	links *email.Links
	users *users
	// engine is the store as the engine writes it.
	engine *flaky
	base   string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "klaxon.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	c := &clock{now: t0}
	log := slog.New(slog.DiscardHandler)
	r := &rig{st: st, clock: c, links: email.NewLinks([]byte("link secret"), 24*time.Hour, c.Now),
		users: &users{ids: map[string]bool{"alice": true, "bob": true}}, engine: &flaky{Store: st}}
	eng := escalate.New(r.engine, nobody{}, nil, log, escalate.Options{Now: c.Now})
	srv := httptest.NewServer(api.New(api.Options{Store: st, Commands: eng, Links: r.links, Now: c.Now, Users: r.users,
		Log: log, Registry: prometheus.NewRegistry()}))
	t.Cleanup(srv.Close)
	r.base = srv.URL
	return r
}

// policy pages alice, and re-triggers 30 minutes after an ack.
var policy = klaxon.Policy{Name: "p", AckTimeout: 30 * time.Minute, Steps: []klaxon.Step{{Targets: []klaxon.Target{{Kind: klaxon.TargetUser, Name: "alice"}}}}}

// open stores a triggered incident of group with the pages sent.
func (r *rig) open(t *testing.T, group string, sent ...klaxon.Sent) string {
	t.Helper()
	ctx := t.Context()
	id, err := r.st.NextIncidentID(ctx)
	require.NoError(t, err)
	inc := &klaxon.Incident{ID: id, Group: group, Summary: group + " is down", State: klaxon.StateTriggered, CreatedAt: r.clock.Now(),
		Labels: map[string]string{"service": group}, Policy: policy, Escalation: klaxon.Escalation{Step: 0}, Sent: sent, Seq: len(sent)}
	require.NoError(t, klaxon.Update(ctx, r.st, group, nil, func(klaxon.Group) (*klaxon.Commit, error) {
		return &klaxon.Commit{Open: id, Incidents: []*klaxon.Incident{inc}}, nil
	}))
	return id
}

// update changes incident id as the engine would.
func (r *rig) update(t *testing.T, id string, fn func(*klaxon.Incident)) {
	t.Helper()
	ctx := t.Context()
	stored, err := r.st.Incident(ctx, id)
	require.NoError(t, err)
	require.NoError(t, klaxon.Update(ctx, r.st, stored.Group, nil, func(g klaxon.Group) (*klaxon.Commit, error) {
		inc := g.Open.Header()
		fn(inc)
		return &klaxon.Commit{Open: id, Incidents: []*klaxon.Incident{inc}}, nil
	}))
}

func (r *rig) incident(t *testing.T, id string) *klaxon.Incident {
	t.Helper()
	inc, err := r.st.Incident(t.Context(), id)
	require.NoError(t, err)
	return inc
}

// do sends a request and returns the status and body.
func do(t *testing.T, method, rawURL string, form url.Values, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// link is the mail link of notification n of incident id to alice, for
// action.
func (r *rig) link(id string, n int, action string) string {
	return r.base + email.AckPath + r.links.Sign(id, n, "alice", action)
}
