package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/notify/webhook"
)

// TestProbeBody checks that each probe alert is one alert of a group of
// its own, whose summary names the run and the alert.
func TestProbeBody(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	groups := map[string]bool{}
	for n := range 3 {
		data, err := probeBody(formatWebhook, "", "0a1b2c3d", n, at)
		require.NoError(t, err)
		alerts, err := ingest.DecodeAlertmanager("load", data)
		require.NoError(t, err)
		require.Len(t, alerts, 1)
		require.Equal(t, probeText("0a1b2c3d", n), alerts[0].Summary)
		require.True(t, alerts[0].StartsAt.Equal(at))
		groups[alerts[0].Labels["alertname"]] = true
		require.Equal(t, []int{n}, probeIDs([]byte(`{"summary":"`+alerts[0].Summary+`"}`), "0a1b2c3d"))
		require.Empty(t, probeIDs([]byte(alerts[0].Summary), "ffffffff"), "another run's page")

		pd, err := probeBody(formatPagerDuty, "pd-key", "0a1b2c3d", n, at)
		require.NoError(t, err)
		ev, err := ingest.DecodePagerDuty("tools", pd)
		require.NoError(t, err)
		require.Equal(t, probeText("0a1b2c3d", n), ev.Alert.Summary)
		groups["pd/"+ev.Alert.Labels["group"]] = true

		api, err := probeBody(formatAlertmanagerAPI, "", "0a1b2c3d", n, at)
		require.NoError(t, err)
		require.Equal(t, []int{n}, probeIDs(api, "0a1b2c3d"))
	}
	require.Len(t, groups, 6)
}

// TestProbe runs a probe against a fake server that pages Klaxon's JSON
// page to the probe a few milliseconds after each alert, but never for
// one alert in five.
func TestProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		n  int
	)
	acked := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := strings.CutPrefix(r.URL.Path, "/v1/incidents/"); ok {
			if r.Header.Get("Authorization") != "Bearer ack-token" || !strings.HasSuffix(id, "/ack") {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			mu.Lock()
			acked[strings.TrimSuffix(id, "/ack")] = true
			mu.Unlock()
			w.WriteHeader(http.StatusOK)
			return
		}
		data, _ := io.ReadAll(r.Body)
		alerts, err := ingest.DecodeAlertmanager("load", data)
		if err != nil || len(alerts) != 1 {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		mu.Lock()
		n++
		skip, id := n%5 == 0, strconv.Itoa(n)
		mu.Unlock()
		if skip {
			return
		}
		page, _ := json.Marshal(webhook.Payload{Type: "page", Incident: id, User: "oncall", Summary: alerts[0].Summary})
		wg.Go(func() {
			time.Sleep(3 * time.Millisecond)
			resp, err := http.Post("http://"+ln.Addr().String()+"/", "application/json", bytes.NewReader(page))
			if err == nil {
				resp.Body.Close()
			}
		})
	}))
	defer srv.Close()
	o := probeOptions{url: srv.URL, ackToken: "ack-token", format: formatWebhook, rate: 100, duration: 300 * time.Millisecond, grace: 200 * time.Millisecond}
	r, err := probe(context.Background(), o, srv.URL+"/v1/ingest/alertmanager", ln)
	require.NoError(t, err)
	wg.Wait()
	require.Zero(t, r.errors)
	require.InDelta(t, 30, r.sent, 5)
	require.Len(t, r.posts, r.sent)
	require.Equal(t, r.sent-r.sent/5, len(r.pages), "one alert in five has no page")
	require.GreaterOrEqual(t, r.pages[0], 3*time.Millisecond)
	var out bytes.Buffer
	r.print(&out)
	require.Contains(t, out.String(), "alert→page p50 ")
	require.Len(t, r.acks, len(r.pages), "each page's incident acknowledged")
	require.Zero(t, r.ackErrors)
	require.Len(t, acked, len(r.pages))
	require.Contains(t, out.String(), "page→ack p50 ")
}
