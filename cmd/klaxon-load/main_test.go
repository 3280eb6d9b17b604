package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

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
