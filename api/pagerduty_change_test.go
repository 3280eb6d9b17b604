package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/api"
)

// changeTokens takes routing key "rk" for integration "tools", and API
// token "reader" to read.
type changeTokens struct{ integrationTokens }

func (changeTokens) Caller(token string) (api.Caller, bool) {
	return api.Caller{Name: "reader", Scope: klaxon.ScopeRead}, token == "reader"
}

// unwritable is a store that cannot write changes, as a store that cannot
// be reached.
type unwritable struct{ klaxon.Store }

func (unwritable) PutChange(context.Context, klaxon.Change, time.Time, klaxon.ChangeBounds) (klaxon.Change, error) {
	return klaxon.Change{}, fmt.Errorf("put change: redis down: %w", klaxon.ErrUnavailable)
}

// changeServer serves the API on st, on the rig's clock and engine.
func (r *rig) changeServer(t *testing.T, st klaxon.Store) string {
	t.Helper()
	srv := httptest.NewServer(api.New(api.Options{Store: st, Commands: r.Engine, Now: r.Clock.Now, Tokens: changeTokens{pagerDutyTokens},
		Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// sendChange posts body to /v2/change/enqueue as contentType, and returns
// the status, the answer and its Retry-After.
func sendChange(t *testing.T, base, contentType, body string) (int, string, string) {
	t.Helper()
	resp, err := http.Post(base+"/v2/change/enqueue", contentType, strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Get("Retry-After")
}

// TestChangeEnqueue: PagerDuty's change events are taken at
// /v2/change/enqueue with the routing key of a pagerduty integration,
// answered as PagerDuty answers them, and stored as changes of that
// integration: they open no incident and set no timer, so they page
// nobody.
func TestChangeEnqueue(t *testing.T) {
	r := newRig(t)
	base := r.changeServer(t, r.Store)
	const deploy = `{"routing_key":"rk","payload":{"summary":"Deploy checkout-api 2026.11.23-3","source":"github-actions",
		"timestamp":"2026-11-23T21:52:10.000+0000","custom_details":{"sha":"5f1c9a0","run":4242}},
		"links":[{"href":"https://ci.example.com/runs/4242","text":"View run"}]}`

	code, body, _ := sendChange(t, base, "application/json", deploy)
	require.Equal(t, http.StatusAccepted, code)
	require.Equal(t, `{"status":"success","message":"Change event processed"}`, body)
	code, body, _ = sendChange(t, base, "application/json; charset=utf-8", `{"routing_key":"rk","payload":{"summary":"Secret rotated"}}`)
	require.Equal(t, http.StatusAccepted, code, body)

	got, err := r.Store.Changes(t.Context(), "tools", t0.Add(-24*time.Hour), t0, 10)
	require.NoError(t, err)
	require.Len(t, got, 2)
	for i := range got {
		require.NotEmpty(t, got[i].ID)
		got[i].ID, got[i].At, got[i].ReceivedAt = "", got[i].At.UTC(), got[i].ReceivedAt.UTC()
	}
	require.Equal(t, []klaxon.Change{
		{Integration: "tools", Summary: "Secret rotated", At: t0, ReceivedAt: t0},
		{Integration: "tools", Summary: "Deploy checkout-api 2026.11.23-3", Source: "github-actions",
			At: time.Date(2026, 11, 23, 21, 52, 10, 0, time.UTC), ReceivedAt: t0,
			Details: map[string]string{"sha": "5f1c9a0", "run": "4242"},
			Links:   []klaxon.Link{{Href: "https://ci.example.com/runs/4242", Text: "View run"}}},
	}, got, "newest first; without a timestamp, the time it came")

	incs, err := r.Store.Incidents(t.Context(), klaxon.IncidentFilter{States: klaxon.States()})
	require.NoError(t, err)
	require.Empty(t, incs, "a change opens no incident")
	due, _, err := r.Store.Claim(t.Context(), t0.Add(365*24*time.Hour), time.Minute, 100)
	require.NoError(t, err)
	require.Empty(t, due, "nor sets a timer: it pages nobody")
}

// TestChangeEnqueueRefused: what /v2/enqueue refuses, /v2/change/enqueue
// refuses alike, in PagerDuty's words, naming the field.
func TestChangeEnqueueRefused(t *testing.T) {
	r := newRig(t)
	base := r.changeServer(t, r.Store)
	invalid := func(errs ...string) string {
		return `{"status":"invalid event","message":"Event object is invalid","errors":["` + strings.Join(errs, `","`) + `"]}`
	}
	for _, tt := range []struct {
		name, contentType, body string
		code                    int
		want                    string
	}{
		{"no summary", "application/json", `{"routing_key":"rk","payload":{"source":"ci"}}`,
			http.StatusBadRequest, invalid("'payload.summary' is missing or blank")},
		{"no routing key", "application/json", `{"payload":{"summary":"s"}}`,
			http.StatusBadRequest, invalid("'routing_key' is missing or blank")},
		{"a link without href", "application/json", `{"routing_key":"rk","payload":{"summary":"s"},"links":[{"text":"run"}]}`,
			http.StatusBadRequest, invalid("'links[0].href' is missing or blank")},
		{"a timestamp that is no time", "application/json", `{"routing_key":"rk","payload":{"summary":"s","timestamp":"now"}}`,
			http.StatusBadRequest, invalid(`'payload.timestamp' must be an ISO 8601 time, got \"now\"`)},
		{"malformed JSON", "application/json", `{"routing_key":`,
			http.StatusBadRequest, invalid("malformed JSON at offset 15: unexpected end of JSON input")},
		{"a routing key of no pagerduty integration", "application/json", `{"routing_key":"nope","payload":{"summary":"s"}}`,
			http.StatusBadRequest, invalid("Invalid routing key")},
		{"not JSON", "text/plain", `{"routing_key":"rk","payload":{"summary":"s"}}`,
			http.StatusBadRequest, invalid(`Content-Type must be application/json, got \"text/plain\"`)},
		{"a body over 1 MiB", "application/json", `{"routing_key":"rk","payload":{"summary":"s","source":"` + strings.Repeat("x", api.MaxBody) + `"}}`,
			http.StatusRequestEntityTooLarge, invalid("request body is larger than 1 MiB")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := sendChange(t, base, tt.contentType, tt.body)
			require.Equal(t, tt.code, code, body)
			require.Equal(t, tt.want, body)
		})
	}
	got, err := r.Store.Changes(t.Context(), "tools", time.Time{}, t0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Empty(t, got)

	t.Run("a guesser is throttled, a right key never", func(t *testing.T) {
		base := r.changeServer(t, r.Store) // a limiter of its own
		code, retry := 0, ""
		for range 40 {
			if code, _, retry = sendChange(t, base, "application/json", `{"routing_key":"guess","payload":{"summary":"s"}}`); code != http.StatusBadRequest {
				break
			}
		}
		require.Equal(t, http.StatusTooManyRequests, code)
		require.NotEmpty(t, retry)
		code, body, _ := sendChange(t, base, "application/json", `{"routing_key":"rk","payload":{"summary":"s"}}`)
		require.Equal(t, http.StatusAccepted, code, body)
	})

	t.Run("a store that cannot write: 503, to retry", func(t *testing.T) {
		base := r.changeServer(t, unwritable{r.Store})
		code, body, retry := sendChange(t, base, "application/json", `{"routing_key":"rk","payload":{"summary":"s"}}`)
		require.Equal(t, http.StatusServiceUnavailable, code, body)
		require.Equal(t, "5", retry)
		require.Contains(t, body, `"status":"error"`)
	})
}

// TestChangesInReview: the review of an incident lists the changes of
// its alerts' integrations in the day before it opened, newest first;
// not another integration's, nor older ones, nor later ones.
func TestChangesInReview(t *testing.T) {
	r := newRig(t)
	base := r.changeServer(t, r.Store)
	for _, c := range []struct{ key, summary, at string }{
		{"rk", "Deploy checkout-api 2026.11.23-3", "2026-11-23T21:52:00Z"},
		{"rk", "Flag checkout_v2 on", "2026-11-23T20:00:00Z"},
		{"rk", "Deploy of the day before", "2026-11-22T21:00:00Z"},
		{"rk", "Deploy after the incident opened", "2026-11-23T22:03:00Z"}, // a sender a little ahead of Klaxon
	} {
		code, body, _ := sendChange(t, base, "application/json",
			`{"routing_key":"`+c.key+`","payload":{"summary":"`+c.summary+`","source":"ci","timestamp":"`+c.at+`"}}`)
		require.Equal(t, http.StatusAccepted, code, body)
	}
	_, err := r.Store.PutChange(t.Context(), klaxon.Change{Integration: "other", Summary: "Another integration's deploy",
		At: t0.Add(-time.Minute), ReceivedAt: t0}, t0, klaxon.DefaultChangeBounds)
	require.NoError(t, err)

	id := r.Open(t, "checkout")
	r.Update(t, id, func(inc *klaxon.Incident) {
		inc.Changed = []klaxon.AlertState{{Alert: klaxon.Alert{Key: "tools/latency", Integration: "tools", Status: klaxon.Firing}, Count: 1}}
		inc.AlertCount, inc.FiringCount = 1, 1
		inc.Record(klaxon.Event{At: t0, Kind: klaxon.EventAlertJoined, Alert: "tools/latency", Text: "checkout p99 > 2s"})
	})

	code, md := do(t, http.MethodGet, base+"/v1/incidents/"+id+"/review.md", nil, http.Header{"Authorization": {"Bearer reader"}})
	require.Equal(t, http.StatusOK, code, md)
	_, section, ok := strings.Cut(md, "## Changes before\n\n")
	require.True(t, ok, md)
	section, _, _ = strings.Cut(section, "## ")
	require.Equal(t, "Change events received on tools in the 24 hours before the incident opened, newest first.\n\n"+
		"| When | Before opening | Integration | Change | Source | Links |\n|---|---|---|---|---|---|\n"+
		"| 2026-11-23 21:52 UTC | 8m | tools | Deploy checkout-api 2026.11.23-3 | ci | — |\n"+
		"| 2026-11-23 20:00 UTC | 2h | tools | Flag checkout_v2 on | ci | — |\n\n", section)

	code, list := do(t, http.MethodGet, base+"/v1/incidents", nil, http.Header{"Authorization": {"Bearer reader"}})
	require.Equal(t, http.StatusOK, code, list)
	require.NotContains(t, list, "Deploy", "the incident list carries no changes")
}
