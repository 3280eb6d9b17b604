package api_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/notify/email"
)

// pageRefRE matches the addresses a page links or posts to.
var pageRefRE = regexp.MustCompile(`(?:href|action|src)="([^"]*)"`)

// TestAckLinkPagesUnderPublicURLPath: with public_url under a path
// (https://example.com/klaxon, behind a proxy that takes the path off),
// the mail's links are under it, and so must be every address the pages
// they open link or post to: a link to "/incidents/42" leaves Klaxon for
// whatever else the host serves. The confirm page posts to its own
// address; the page of an expired link opens the incident under the
// path, as the mail's own "Open in Klaxon" does.
func TestAckLinkPagesUnderPublicURLPath(t *testing.T) {
	r := newRig(t)
	h := api.New(api.Options{Store: r.Store, Commands: r.Engine, Links: r.links, Now: r.Clock.Now, Users: r.users,
		Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	proxy := httptest.NewServer(http.StripPrefix("/klaxon", h))
	t.Cleanup(proxy.Close)
	public := proxy.URL + "/klaxon"

	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaEmail, At: t0})
	under := func(t *testing.T, link, body string) {
		t.Helper()
		base, err := url.Parse(link)
		require.NoError(t, err)
		for _, m := range pageRefRE.FindAllStringSubmatch(body, -1) {
			ref, err := url.Parse(m[1])
			require.NoError(t, err)
			got := base.ResolveReference(ref).String()
			require.True(t, strings.HasPrefix(got, public+"/"), "%q on the page of %s is %s, not under public_url %s", m[1], link, got, public)
		}
	}

	resolve := public + email.AckPath + r.links.Sign(id, 1, "alice", email.ActionResolve)
	code, body := do(t, http.MethodGet, resolve, nil, nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "<form")
	under(t, resolve, body)

	ack := public + email.AckPath + r.links.Sign(id, 1, "alice", email.ActionAck)
	r.Clock.Add(25 * time.Hour)
	code, body = do(t, http.MethodGet, ack, nil, nil)
	require.Equal(t, http.StatusGone, code, body)
	require.Contains(t, body, "This link expired at")
	refs := pageRefRE.FindAllStringSubmatch(body, -1)
	require.Len(t, refs, 1, "the expired link's page links to its incident: %s", body)
	base, err := url.Parse(ack)
	require.NoError(t, err)
	ref, err := url.Parse(refs[0][1])
	require.NoError(t, err)
	require.Equal(t, klaxon.IncidentURL(public, id), base.ResolveReference(ref).String())
	under(t, ack, body)
}
