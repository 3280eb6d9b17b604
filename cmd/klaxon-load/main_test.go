package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
)

// TestBodies checks that the webhook bodies are what Klaxon decodes, and
// that a cycle sends each distinct alert once, in the groups asked for.
func TestBodies(t *testing.T) {
	for _, spread := range []bool{false, true} {
		l := layout{perBody: 10, groups: 7, distinct: 70, spread: spread}
		bodies, err := l.bodies(formatWebhook, "")
		require.NoError(t, err)
		require.Len(t, bodies, 7)
		keys, groups := map[string]bool{}, map[string]bool{}
		for _, b := range bodies {
			alerts, err := ingest.DecodeAlertmanager("load", b.data)
			require.NoError(t, err)
			require.Len(t, alerts, 10)
			for _, a := range alerts {
				keys[a.Key] = true
				groups[a.Labels["alertname"]] = true
			}
		}
		require.Len(t, keys, 70, "spread=%v", spread)
		require.Len(t, groups, 7, "spread=%v", spread)

		api, err := l.bodies(formatAlertmanagerAPI, "")
		require.NoError(t, err)
		var list []map[string]any
		require.NoError(t, json.Unmarshal(api[0].data, &list))
		require.Len(t, list, 10)
		require.Contains(t, list[0], "labels")
	}
}

// TestLoad runs a short load against a fake server that refuses one body
// in ten.
func TestLoad(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/ingest/alertmanager" || r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("got %s with %q", r.URL.Path, r.Header.Get("Authorization"))
		}
		_, _ = io.Copy(io.Discard, r.Body)
		if n.Add(1)%10 == 0 {
			http.Error(w, `{"error":"store unreachable"}`, http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"status":"accepted"}`)
	}))
	defer srv.Close()
	var out bytes.Buffer
	err := run(context.Background(), []string{"--url", srv.URL, "--token", "tok", "--duration", "300ms", "--warmup", "50ms",
		"--concurrency", "4", "--alerts-per-body", "10", "--groups", "10", "--distinct", "100"}, &out, io.Discard)
	require.NoError(t, err)
	require.Contains(t, out.String(), "alerts/s ")
	require.Contains(t, out.String(), "error: 503 Service Unavailable")
	require.False(t, strings.Contains(out.String(), "errors 0 "), out.String())
}

// TestLoadNewOccurrences runs a short load with --new-occurrences against
// a fake server that decodes every body: each cycle starts the alerts
// anew, and PagerDuty events carry their token in the body, not in a
// header.
func TestLoadNewOccurrences(t *testing.T) {
	for _, format := range []string{formatWebhook, formatPagerDuty} {
		t.Run(format, func(t *testing.T) {
			var (
				mu     sync.Mutex
				starts = map[string]map[time.Time]bool{}
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				data, _ := io.ReadAll(r.Body)
				var alerts []klaxon.Alert
				switch r.URL.Path {
				case "/v1/ingest/alertmanager":
					if r.Header.Get("Authorization") != "Bearer tok" {
						t.Errorf("webhook with %q", r.Header.Get("Authorization"))
					}
					alerts, _ = ingest.DecodeAlertmanager("load", data)
				case "/v2/enqueue":
					ev, err := ingest.DecodePagerDuty("tools", data)
					if err != nil || ev.RoutingKey != "tok" || r.Header.Get("Authorization") != "" {
						t.Errorf("event %s with %q: %v", data, r.Header.Get("Authorization"), err)
					}
					alerts = []klaxon.Alert{ev.Alert}
				}
				if len(alerts) == 0 {
					http.Error(w, "bad body", http.StatusBadRequest)
					return
				}
				mu.Lock()
				for _, a := range alerts {
					if starts[a.Key] == nil {
						starts[a.Key] = map[time.Time]bool{}
					}
					starts[a.Key][a.StartsAt] = true
				}
				mu.Unlock()
				w.WriteHeader(http.StatusAccepted)
			}))
			defer srv.Close()
			perBody := "10"
			if format == formatPagerDuty {
				perBody = "1"
			}
			var out bytes.Buffer
			err := run(context.Background(), []string{"--url", srv.URL, "--token", "tok", "--format", format,
				"--duration", "500ms", "--warmup", "0s", "--concurrency", "2", "--alerts-per-body", perBody,
				"--groups", "2", "--distinct", "20", "--new-occurrences"}, &out, io.Discard)
			require.NoError(t, err)
			require.Contains(t, out.String(), "errors 0 ", out.String())
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, starts, 20)
			for key, seen := range starts {
				require.Greater(t, len(seen), 1, "alert %s started once only", key)
			}
		})
	}
}

// TestLoadFirstCycle checks that --first-cycle goes on from an earlier
// run's cycles: no body repeats a start of cycles 0 to 2, and the flag
// is refused where it means nothing.
func TestLoadFirstCycle(t *testing.T) {
	var (
		mu     sync.Mutex
		starts = map[time.Time]bool{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		ev, err := ingest.DecodePagerDuty("tools", data)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		starts[ev.Alert.StartsAt] = true
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	flags := []string{"--url", srv.URL, "--token", "tok", "--format", formatPagerDuty, "--duration", "300ms", "--warmup", "0s",
		"--concurrency", "2", "--alerts-per-body", "1", "--groups", "2", "--distinct", "20"}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), append(flags, "--new-occurrences", "--first-cycle", "3"), &out, io.Discard))
	require.Contains(t, out.String(), "errors 0 ", out.String())
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, starts)
	first, err := time.Parse(stampLayout, stamp(3))
	require.NoError(t, err)
	require.True(t, starts[first], "no event of cycle 3 in %v", starts)
	for at := range starts {
		require.False(t, at.Before(first), "an event started at %s, before cycle 3's %s", at, first)
	}

	for _, bad := range [][]string{{"--first-cycle", "2"}, {"--new-occurrences", "--first-cycle", "-1"}} {
		err := run(context.Background(), append(slices.Clone(flags), bad...), io.Discard, io.Discard)
		require.ErrorContains(t, err, "--first-cycle", "%v", bad)
	}
}
