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

// integrationTokens takes token for integration name, of type kind.
type integrationTokens struct {
	api.Tokens
	kind, token, name string
}

func (i integrationTokens) Integration(kind, token string) (string, bool) {
	return i.name, kind == i.kind && token == i.token
}

// pagerDutyTokens takes routing key "rk" for integration "tools".
var pagerDutyTokens = integrationTokens{kind: "pagerduty", token: "rk", name: "tools"}

// staleIndex is a store whose alert index names group for every key, as
// it does for the alerts of an incident closed whose unindexing is
// still owed.
type staleIndex struct {
	klaxon.Store
	group string
}

func (s staleIndex) AlertGroups(_ context.Context, keys []string) (map[string]string, error) {
	groups := map[string]string{}
	for _, k := range keys {
		groups[k] = s.group
	}
	return groups, nil
}

// TestAcknowledgeAlertHeld: a PagerDuty acknowledge acknowledges the
// open incident of the alert's group only if that incident holds the
// alert: an index entry left by the group's closed incident does not
// acknowledge its next one.
func TestAcknowledgeAlertHeld(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	srv := httptest.NewServer(api.New(api.Options{Store: staleIndex{Store: r.Store, group: "db"}, Commands: r.Engine, Now: r.Clock.Now,
		Tokens: pagerDutyTokens, Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()}))
	t.Cleanup(srv.Close)
	ack := func(key string) {
		body := `{"routing_key":"rk","event_action":"acknowledge","dedup_key":"` + key + `"}`
		resp, err := http.Post(srv.URL+"/v2/enqueue", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
	}

	ack("gone")
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, id).State, "the incident does not hold tools/gone")

	r.Update(t, id, func(inc *klaxon.Incident) {
		inc.Changed = []klaxon.AlertState{{Alert: klaxon.Alert{Key: "tools/held", Integration: "tools", Status: klaxon.Firing}, Count: 1}}
		inc.AlertCount, inc.FiringCount = 1, 1
	})
	ack("held")
	require.Equal(t, klaxon.StateAcknowledged, r.Incident(t, id).State)
}
