package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestHungWebhookHoldsNoEmail: a storm of 1,000 incidents pages alice by
// webhook, to a receiver that hangs; one more incident pages bob by
// email. "A slow provider or person delays nobody else ... a storm of SMS
// behind a slow Twilio holds up no email or call of another incident"
// (README): bob's email goes out at once. A webhook page that waited
// for a slot held one of the 256 incidents the engine pages for at once
// for 5 s, and the backlog, due before bob's incident, was claimed
// first: bob's email waited about 15 s here, and about 37 s behind 2,000
// incidents, for as long as the receiver hung.
func TestHungWebhookHoldsNoEmail(t *testing.T) {
	release := make(chan struct{})
	var taken atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		taken.Add(1)
		select { // hangs
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(receiver.Close)

	config := writeConfig(t, time.Hour)
	dir := filepath.Dir(config)
	rewrite(t, config, "notify:\n  console: {}\n", "notify:\n  console: {}\n  concurrency: 4\n  webhook: {url: \""+receiver.URL+"/hook\"}\n")
	rewrite(t, config, "  group_by: [alertname, service]\n", "  group_by: [alertname, service]\n  routes:\n    - matchers: ['alertname=\"Lonely\"']\n      policy: mail\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "policies", "mail.yaml"), []byte("name: mail\nsteps:\n  - targets: [user:bob]\n    escalate_after: 1h\n"), 0o644))
	rewrite(t, filepath.Join(dir, "users.yaml"), "{via: sms, after: 0s}", "{via: webhook, after: 0s}")

	base, s, _ := startServe(t, config)
	t.Cleanup(func() { close(release) }) // before the server stops: its pages in flight end

	storm := make([]fakeAlert, 1000)
	for i := range storm {
		storm[i] = fakeAlert{group: i}
	}
	a := deliver(base, amWebhook(storm))
	require.NoError(t, a.err)
	require.Equal(t, http.StatusOK, a.code, "%v", a.body)
	waitFor(t, "the receiver holds every webhook slot", func() bool { return taken.Load() >= 4 })

	code, out := post(t, base+"/v1/ingest/generic", genericToken, "application/json",
		[]byte(`{"dedup_key":"lonely-1","summary":"lonely","severity":"critical","labels":{"alertname":"Lonely","service":"mail"}}`))
	require.Equal(t, http.StatusOK, code, "%v", out)
	id := findIncident(t, base, "Lonely").ID
	start := time.Now()
	waitWithin(t, "bob's email went out, behind no webhook", 10*time.Second, func() bool { return len(s.pagesFor(id)) > 0 })
	t.Logf("bob's email went out after %s", time.Since(start).Round(time.Millisecond))
}
