package api_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/api"
)

// TestRefusedEventCountedForItsRoutingKey: an Events API event whose
// routing key names an integration, refused for the rest of it (a
// trigger without a summary, a change without one), is counted under
// that integration, as a webhook refused for its body is counted under
// the integration its bearer token names: a rule on "tools' events are
// refused" sees it. An unknown key stays unnamed.
func TestRefusedEventCountedForItsRoutingKey(t *testing.T) {
	r := newRig(t)
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(api.New(api.Options{Store: r.Store, Commands: r.Engine, Now: r.Clock.Now,
		Tokens: pagerDutyTokens, Log: slog.New(slog.DiscardHandler), Registry: reg}))
	t.Cleanup(srv.Close)
	post := func(path, body string) {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	}
	post("/v2/enqueue", `{"routing_key":"rk","event_action":"trigger","payload":{"source":"x","severity":"critical"}}`)
	post("/v2/enqueue", `{"routing_key":"rk","event_action":"explode"}`)
	post("/v2/change/enqueue", `{"routing_key":"rk","payload":{"source":"x"}}`)
	post("/v2/enqueue", `{"routing_key":"guess","event_action":"explode"}`)

	require.Equal(t, 3.0, refused(t, reg, "tools", "invalid"), "refused events of integration tools")
	require.Equal(t, 1.0, refused(t, reg, "", "invalid"), "the event of no integration's key")
}

// refused is klaxon_ingest_refused_total{integration,reason} in reg, 0
// when it has no such series.
func refused(t *testing.T, reg *prometheus.Registry, integration, reason string) float64 {
	t.Helper()
	return counter(t, reg, "klaxon_ingest_refused_total", map[string]string{"integration": integration, "reason": reason})
}
