package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func TestOnly(t *testing.T) {
	s := New(Options{Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), Tokens: fakeTokens{}})
	get := func(h http.Handler, method, path string) (int, errorBody) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		var body errorBody
		if rec.Code != http.StatusOK {
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			require.NoError(t, json.NewDecoder(rec.Body).Decode(&body))
		}
		return rec.Code, body
	}

	health, err := s.Only(GroupHealth)
	require.NoError(t, err)
	code, _ := get(health, "GET", "/healthz")
	require.Equal(t, http.StatusOK, code)
	for _, r := range [][2]string{
		{"GET", "/metrics"},
		{"POST", "/v1/ingest/alertmanager"},
		{"GET", "/v1/incidents"},
		{"GET", "/v1/schedules/primary.ics"},
		{"POST", "/v1/twilio/sms"},
		{"GET", "/v1/ack/x"},
	} {
		code, body := get(health, r[0], r[1])
		require.Equal(t, http.StatusNotFound, code, "%s %s", r[0], r[1])
		require.Equal(t, "no such endpoint: "+r[0]+" "+r[1], body.Error)
	}
	code, _ = get(health, "GET", "/nope")
	require.Equal(t, http.StatusNotFound, code)

	both, err := s.Only(GroupMetrics, GroupHealth)
	require.NoError(t, err)
	code, _ = get(both, "GET", "/metrics")
	require.Equal(t, http.StatusOK, code)

	// The calendar feed is a group of its own: a listener may serve it
	// without the API, and the API without it.
	feed, err := s.Only(GroupFeed)
	require.NoError(t, err)
	code, body := get(feed, "GET", "/v1/schedules/primary.ics")
	require.Equal(t, http.StatusUnauthorized, code, "the feed is served, and asks for its token")
	require.Contains(t, body.Error, "feed token")
	for _, path := range []string{"/v1/incidents", "/v1/oncall", "/v1/schedules/primary/shifts", "/v1/schedules/primary/oncall"} {
		code, _ = get(feed, "GET", path)
		require.Equal(t, http.StatusNotFound, code, path)
	}
	apiOnly, err := s.Only(GroupAPI)
	require.NoError(t, err)
	code, _ = get(apiOnly, "GET", "/v1/schedules/primary.ics")
	require.Equal(t, http.StatusNotFound, code)
	code, _ = get(apiOnly, "GET", "/v1/oncall")
	require.Equal(t, http.StatusUnauthorized, code, "the API is served, and asks for its token")

	all, err := s.Only()
	require.NoError(t, err)
	code, _ = get(all, "GET", "/metrics")
	require.Equal(t, http.StatusOK, code)

	_, err = s.Only("console")
	require.ErrorContains(t, err, `no such group; want one of ingest, twilio, ack, api, feed, metrics, health, web, slack`)
}

// TestGroupsHaveRoutes: every route group has routes, and every route's
// group is one of Groups.
func TestGroupsHaveRoutes(t *testing.T) {
	s := New(Options{Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), Console: http.NotFoundHandler()})
	seen := map[string]bool{}
	for pattern, g := range s.groups {
		require.Contains(t, Groups, g, pattern)
		seen[g] = true
	}
	for _, g := range Groups {
		require.True(t, seen[g], "group %s has no route", g)
	}
}

// echoConsole is a console whose page says its path: "console /login".
var echoConsole = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte("console " + r.URL.Path))
})

// TestConsoleMount: the console answers every path outside the API's,
// on a listener that serves it; the API's unknown paths stay JSON.
func TestConsoleMount(t *testing.T) {
	s := New(Options{Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), Console: echoConsole})
	for _, path := range []string{"/", "/incidents/7", "/login"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, "console "+path, rec.Body.String())
	}
	for _, path := range []string{"/v1/nosuch", "/v2/nosuch"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, http.StatusNotFound, rec.Code, path)
		require.Equal(t, "application/json", rec.Header().Get("Content-Type"), path)
	}
	apiOnly, err := s.Only(GroupAPI)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	apiOnly.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/incidents/7", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
}
