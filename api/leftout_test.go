package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
)

// taker takes every alert, as committed.
type taker struct{}

func (taker) Accept(context.Context, []klaxon.Alert) error { return nil }

// grafanaTokens takes token "gt" for the alertmanager integration
// "grafana".
var grafanaTokens = integrationTokens{kind: "alertmanager", token: "gt", name: "grafana"}

// TestAlertsLeftOutBySenderCounted: a webhook whose sender cut its group
// to its max alerts says how many it left out (truncatedAlerts); Klaxon
// never hears of them, resolves among them, so it counts them, by
// integration, for a rule to see, and takes the alerts it was given.
func TestAlertsLeftOutBySenderCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(api.New(api.Options{Tokens: grafanaTokens, Accepter: taker{}, Log: slog.New(slog.DiscardHandler), Registry: reg}))
	t.Cleanup(srv.Close)
	post := func(truncated string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/ingest/alertmanager", strings.NewReader(`{"version":"1","orgId":1,"status":"firing","truncatedAlerts":`+truncated+`,
			"alerts":[{"status":"firing","labels":{"alertname":"cpu","instance":"web-1"},"fingerprint":"1f6e4e4d0b5c0a13","startsAt":"2026-11-30T07:00:00Z"}]}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer gt")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	post("0")
	require.True(t, has(t, reg, "klaxon_ingest_alerts_left_out_total"), "the series is there, at 0, before the first cut")
	post("2")
	post("0")
	post("3")
	require.Equal(t, 5.0, counter(t, reg, "klaxon_ingest_alerts_left_out_total", map[string]string{"integration": "grafana"}))
}

// counter is the value of counter name with labels in reg, 0 when it has
// no such series.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// has reports whether reg has a series of metric name.
func has(t *testing.T, reg *prometheus.Registry, name string) bool {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric()) > 0
		}
	}
	return false
}
