package api

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// TestMethodNotAllowed: a path the API serves, asked with a method it
// does not take, is a JSON 405 with Allow, not a 404 saying there is no
// such endpoint; a path it does not serve stays 404.
func TestMethodNotAllowed(t *testing.T) {
	s, _ := testServer(t)
	tests := []struct {
		method, path, allow string
	}{
		{http.MethodPost, "/v1/incidents", "GET, HEAD"},
		{http.MethodDelete, "/v1/incidents/1", "GET, HEAD"},
		{http.MethodGet, "/v1/incidents/1/ack", "POST"},
		{http.MethodPut, "/v1/schedules/primary/overrides", "GET, HEAD, POST"},
		{http.MethodGet, "/v1/ingest/generic", "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			require.Equal(t, http.StatusMethodNotAllowed, rec.Code, rec.Body.String())
			require.Equal(t, tt.allow, rec.Header().Get("Allow"))
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			require.Contains(t, errorOf(t, rec.Body.String()).Error, tt.method)
		})
	}
	code, body := call(s, http.MethodGet, "/v1/nowhere", adminToken, "")
	require.Equal(t, http.StatusNotFound, code, body)

	// A listener that does not serve the API says nothing of its routes.
	ingestOnly, err := s.Only(GroupIngest)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	ingestOnly.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/incidents/1/ack", nil))
	require.Equal(t, http.StatusNotFound, rec.Code, rec.Body.String())
	require.Empty(t, rec.Header().Get("Allow"))
}

// TestMethodNotAllowedWithConsole: with the console mounted at /, a
// wrong method on a path the API serves outside /v1/ (health, metrics)
// is still the JSON 405, not the console's page; the console's own
// paths stay its, and a listener that does not serve the path's group
// says nothing of it.
func TestMethodNotAllowedWithConsole(t *testing.T) {
	s := New(Options{Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), Console: echoConsole})
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
		require.Equal(t, http.StatusMethodNotAllowed, rec.Code, path+": "+rec.Body.String())
		require.Equal(t, "GET, HEAD", rec.Header().Get("Allow"), path)
		require.Equal(t, "application/json", rec.Header().Get("Content-Type"), path)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/incidents/7/ack", nil))
	require.Equal(t, "console /incidents/7/ack", rec.Body.String())

	webOnly, err := s.Only(GroupWeb)
	require.NoError(t, err)
	rec = httptest.NewRecorder()
	webOnly.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/healthz", nil))
	require.Equal(t, "console /healthz", rec.Body.String(), "health is not served here: the console's")
}
