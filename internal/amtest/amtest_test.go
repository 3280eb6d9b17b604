package amtest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/internal/amtest"
)

// delivery is one webhook request Alertmanager made.
type delivery struct {
	auth string
	body []byte
}

func TestAlertmanagerWebhook(t *testing.T) {
	const token = "s3cret-token"
	deliveries := make(chan delivery, 64)
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case deliveries <- delivery{auth: r.Header.Get("Authorization"), body: body}:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(webhook.Close)

	am := amtest.Start(t, webhook.URL, token)
	require.Contains(t, am.URL(), "http://127.0.0.1:")

	labels := map[string]string{"alertname": "DiskFull", "service": "db", "instance": "db-1", "severity": "warning"}
	am.Fire(t, labels, map[string]string{"summary": "disk 95% full"})

	firing := next(t, deliveries, token)
	require.Equal(t, klaxon.Firing, firing.Status)
	require.Equal(t, labels, firing.Labels)
	require.Equal(t, "disk 95% full", firing.Summary)
	require.Equal(t, "warning", firing.Severity)
	require.Equal(t, map[string]string{"summary": "disk 95% full"}, firing.Annotations)
	require.True(t, firing.EndsAt.IsZero(), "a firing alert has no end")

	am.Resolve(t, labels)
	var resolved klaxon.Alert
	for resolved.Status != klaxon.Resolved { // a re-sent firing group may come first
		resolved = next(t, deliveries, token)
	}
	require.Equal(t, firing.Key, resolved.Key, "resolve must reach the same alert")
	require.Equal(t, labels, resolved.Labels)
	require.False(t, resolved.EndsAt.IsZero())
}

// next waits for the next webhook delivery, checks its token, and decodes
// it into the one alert it must hold.
func next(t *testing.T, deliveries <-chan delivery, token string) klaxon.Alert {
	t.Helper()
	select {
	case d := <-deliveries:
		require.Equal(t, "Bearer "+token, d.auth)
		alerts, err := ingest.DecodeAlertmanager("prometheus", d.body)
		require.NoError(t, err, "body: %s", d.body)
		require.Len(t, alerts, 1, "body: %s", d.body)
		require.Regexp(t, `^prometheus/[0-9a-f]{16}$`, alerts[0].Key)
		return alerts[0]
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook delivery from alertmanager within 30s")
		return klaxon.Alert{}
	}
}
