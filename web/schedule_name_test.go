package web_test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/schedule"
	"github.com/klaxonhq/klaxon/web"
)

// TestScheduleNamesInLinks: a schedule's name is free text in its file
// ("support 24/7", "db #2", "eu?"), and the console's links and forms
// carry it as one segment of their path: the on-call page's link opens
// the schedule's page, and its override form adds an override there.
// Written into the path as it is, a "/" makes two segments, a "#" starts
// a fragment and a "?" a query: the link answers 404 "no schedule", and
// the form posts elsewhere.
func TestScheduleNamesInLinks(t *testing.T) {
	for _, name := range []string{"support 24/7", "db #2", "eu?", "a%2Fb"} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			s, err := schedule.New(schedule.Spec{Name: name, TimeZone: "UTC", Layers: []schedule.LayerSpec{
				{Name: "weekly", Rotation: schedule.RotationSpec{Every: "1w", Handoff: "2026-11-02T09:00"}, Members: []string{"alice", "bob"}},
			}})
			require.NoError(t, err)
			v := view{book: schedule.NewBook(map[string]*schedule.Schedule{name: s}, r.Store), users: []klaxon.User{{ID: "alice"}, {ID: "bob"}}}
			c, err := web.New(web.Options{Incidents: r.Store, Commands: r.Engine, Tokens: r.tokens, Overrides: r.Store, SignedOut: r.Store,
				View: func() web.View { return v }, Key: []byte("0123456789abcdef0123456789abcdef"), Now: r.Clock.Now})
			require.NoError(t, err)
			r.srv = httptest.NewServer(c)
			t.Cleanup(r.srv.Close)
			b := r.signedIn(t, adminToken)

			_, body, _ := b.get("/oncall")
			link := html.UnescapeString(regexpFind(t, body, `<a href="(/schedules/[^"]*)">`))
			code, body, _ := b.get(link)
			require.Equal(t, http.StatusOK, code, "the on-call page's link %s", link)
			require.Contains(t, body, "<h1>"+html.EscapeString(name)+"</h1>")

			action := html.UnescapeString(regexpFind(t, body, `<form method="post" action="([^"]*)" class="override">`))
			code, _, loc := b.post(action, url.Values{"csrf": {b.csrf(link)}, "user": {"alice"}, "from": {"2026-11-23T16:00"}, "to": {"2026-11-24T16:00"}})
			require.Equal(t, http.StatusSeeOther, code, "the override form's action %s", action)
			require.Equal(t, link, loc)
			ovs, err := r.Store.Overrides(t.Context(), name, t0)
			require.NoError(t, err)
			require.Len(t, ovs, 1)

			_, body, _ = b.get(link)
			remove := html.UnescapeString(regexpFind(t, body, `<form method="post" action="([^"]*/delete)"`))
			code, _, _ = b.post(remove, url.Values{"csrf": {b.csrf(link)}})
			require.Equal(t, http.StatusSeeOther, code, "the remove button's action %s", remove)
			ovs, err = r.Store.Overrides(t.Context(), name, t0)
			require.NoError(t, err)
			require.Empty(t, ovs)
		})
	}
}
