package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/notify/webhook"
)

// TestWebhookPage pages bob through a signed JSON webhook.
func TestWebhookPage(t *testing.T) {
	const secret = "hook-secret"
	got := make(chan webhook.Payload, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(webhook.TimestampHeader), 10, 64)
		if !webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), ts, body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- p
	}))
	t.Cleanup(receiver.Close)

	config := writeConfig(t, time.Hour)
	rewrite(t, config, "notify:\n  console: {}\n", "notify:\n  console: {}\n  webhook: {url: \""+receiver.URL+"\", secret: "+secret+"}\n")
	users := filepath.Join(filepath.Dir(config), "users.yaml")
	b, err := os.ReadFile(users)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(users, []byte(strings.Replace(string(b), "{via: sms, after: 0s}", "{via: webhook, after: 0s}", 1)), 0o644))

	base, _, _ := startServe(t, config)
	postFixture(t, base, "firing-two-alerts.json")
	id := findIncident(t, base, "HighErrorRate").ID
	select {
	case p := <-got:
		require.Equal(t, id, p.Incident)
		require.Equal(t, "alice", p.User)
		require.Equal(t, "5xx ratio above 5% on payments", p.Summary)
		require.Equal(t, 2, p.Alerts)
	case <-time.After(15 * time.Second):
		t.Fatal("no webhook page")
	}
}
