package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/internal/incidenttest"
	"github.com/klaxonhq/klaxon/notify/email"
)

var t0 = time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)

const alicePhone = "+15550100001"

var alice = klaxon.User{ID: "alice", Phone: alicePhone, Notify: []klaxon.NotifyRule{{Via: klaxon.ViaEmail}}}

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

// rig is the API on an embedded store and the real engine's commands,
// on a fake clock.
type rig struct {
	*incidenttest.Rig
	links *email.Links
	users *users
	base  string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{Rig: incidenttest.NewRig(t, t0), users: &users{ids: map[string]bool{"alice": true, "bob": true}}}
	r.links = email.NewLinks([]byte("link secret"), 24*time.Hour, r.Clock.Now)
	srv := httptest.NewServer(api.New(api.Options{Store: r.Store, Commands: r.Engine, Links: r.links, Now: r.Clock.Now, Users: r.users,
		Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()}))
	t.Cleanup(srv.Close)
	r.base = srv.URL
	return r
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
