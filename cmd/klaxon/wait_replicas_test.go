package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/redistest"
)

// serveWithReplica runs klaxon serve on a Redis master with one replica
// and wait_replicas: 1, and returns its base URL and the replica.
func serveWithReplica(t *testing.T) (string, *redistest.Server, *served) {
	t.Helper()
	master := redistest.Start(t)
	replica := redistest.StartReplica(t, master)
	config := writeConfig(t, time.Hour)
	rewrite(t, config, "store: {path: data/klaxon.db}", "store: {redis: {addrs: ["+master.Addr()+"], wait_replicas: 1, wait_timeout: 2s}}")
	base, s, _ := startServe(t, config)
	return base, replica, s
}

// TestServeWaitsForReplicas: with wait_replicas, a webhook is answered
// 2xx only once a replica holds its alerts: while the replica does not
// acknowledge (stopped), the webhook is a 503, which the sender retries,
// and /readyz fails; once it is back, the retry (which finds the alert
// committed already) is answered 200, and the replica holds the group.
func TestServeWaitsForReplicas(t *testing.T) {
	base, replica, _ := serveWithReplica(t)
	require.Equal(t, http.StatusOK, readyz(base))
	body, err := os.ReadFile(filepath.Join("testdata", "firing-one-alert.json"))
	require.NoError(t, err)

	replica.Pause(t)
	code, out := post(t, base+"/v1/ingest/alertmanager", amToken, "application/json", body)
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", out)
	require.Contains(t, out["error"], "0 of the 1 replicas asked for acknowledged the write within 2s")
	waitFor(t, "/readyz fails", func() bool { return readyz(base) == http.StatusServiceUnavailable })

	replica.Resume(t)
	code, out = post(t, base+"/v1/ingest/alertmanager", amToken, "application/json", body) // the sender's retry
	require.Equal(t, http.StatusOK, code, "%v", out)
	keys, err := redistest.Do(replica.Addr(), "KEYS", "{klaxon:s*}:g:*")
	require.NoError(t, err)
	require.NotEmpty(t, keys, "the replica holds the group")
	waitFor(t, "/readyz is ready again", func() bool { return readyz(base) == http.StatusOK })
}

// TestServeWaitsForReplicasPagerDutyAcknowledge: the README's
// Durability contract ("each delivery is answered 2xx only once that
// many replicas acknowledged its commits") holds for a PagerDuty
// acknowledge event too: it commits the incident's acknowledgement,
// which a sender never sends again. While the replica does not
// acknowledge, it must be answered 503, not 202.
func TestServeWaitsForReplicasPagerDutyAcknowledge(t *testing.T) {
	base, replica, _ := serveWithReplica(t)
	trigger, err := os.ReadFile(filepath.Join("testdata", "pagerduty-trigger.json"))
	require.NoError(t, err)
	code, out := post(t, base+"/v2/enqueue", "", "application/json", trigger)
	require.Equal(t, http.StatusAccepted, code, "%v", out)

	replica.Pause(t)
	defer replica.Resume(t)
	ack, err := os.ReadFile(filepath.Join("testdata", "pagerduty-acknowledge.json"))
	require.NoError(t, err)
	code, out = post(t, base+"/v2/enqueue", "", "application/json", ack)
	require.Equal(t, http.StatusServiceUnavailable, code,
		"an acknowledge event answered %d (%v) while no replica holds the acknowledgement", code, out)
}

// TestServeWaitsForReplicasPagerDutyChange: a PagerDuty change event is
// a delivery too, which its sender (a deploy tool) sends once: while the
// replica does not acknowledge, it must be answered 503, not 202.
func TestServeWaitsForReplicasPagerDutyChange(t *testing.T) {
	base, replica, _ := serveWithReplica(t)
	replica.Pause(t)
	defer replica.Resume(t)
	code, out := post(t, base+"/v2/change/enqueue", "", "application/json",
		[]byte(`{"routing_key":"`+pdRoutingKey+`","payload":{"summary":"Deploy checkout-api 2026.11.23-3","source":"github-actions"}}`))
	require.Equal(t, http.StatusServiceUnavailable, code,
		"a change event answered %d (%v) while no replica holds it", code, out)
}

// TestServeChangeRetryAfterWaitStoresOnce: a change event answered 503
// because the replica did not acknowledge in time was stored already;
// the sender's retry, as the 503 asks, is that change, not another, as
// an alert's retry finds its commit and writes nothing.
func TestServeChangeRetryAfterWaitStoresOnce(t *testing.T) {
	base, replica, _ := serveWithReplica(t)
	event := []byte(`{"routing_key":"` + pdRoutingKey + `","payload":{"summary":"Deploy checkout-api 2026.11.23-3","source":"github-actions","timestamp":"2026-11-23T10:00:00Z"}}`)

	replica.Pause(t)
	code, out := post(t, base+"/v2/change/enqueue", "", "application/json", event)
	replica.Resume(t)
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", out)
	code, out = post(t, base+"/v2/change/enqueue", "", "application/json", event) // the sender's retry
	require.Equal(t, http.StatusAccepted, code, "%v", out)

	n := changesOn(t, replica.Addr())
	require.Equal(t, "1", n, "one change event, delivered twice as its 503 asked, is stored %s times", n)
}

// TestServeChangeSentTwiceAfter202: the change digest is for a sender's
// retry of an event not answered 2xx. Two deploys of one build (a
// re-run, a rollback and redeploy), each sent without payload.timestamp
// and each answered 202, are two changes, each dated when it came, as
// PagerDuty and the embedded store keep them.
func TestServeChangeSentTwiceAfter202(t *testing.T) {
	redis := redistest.Start(t)
	config := writeConfig(t, time.Hour)
	rewrite(t, config, "store: {path: data/klaxon.db}", "store: {redis: {addrs: ["+redis.Addr()+"]}}")
	base, _, _ := startServe(t, config)
	deploy := []byte(`{"routing_key":"` + pdRoutingKey + `","payload":{"summary":"Deploy checkout-api 2026.11.23-3","source":"github-actions"}}`)

	for range 2 {
		code, out := post(t, base+"/v2/change/enqueue", "", "application/json", deploy)
		require.Equal(t, http.StatusAccepted, code, "%v", out)
	}
	n := changesOn(t, redis.Addr())
	require.Equal(t, "2", n, "two change events, each answered 202, are stored %s time(s)", n)
}

// TestServeChangeDigestForgottenAfter202: a change answered 503 (the
// replica late) is retried and answered 202 as that change; then its
// digest is forgotten: a second deploy of the same build (a re-run,
// without payload.timestamp) is a change of its own, as
// TestServeChangeSentTwiceAfter202 has it.
func TestServeChangeDigestForgottenAfter202(t *testing.T) {
	base, replica, _ := serveWithReplica(t)
	deploy := []byte(`{"routing_key":"` + pdRoutingKey + `","payload":{"summary":"Deploy checkout-api 2026.11.23-3","source":"github-actions"}}`)

	replica.Pause(t)
	code, out := post(t, base+"/v2/change/enqueue", "", "application/json", deploy)
	replica.Resume(t)
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", out)
	code, out = post(t, base+"/v2/change/enqueue", "", "application/json", deploy) // the sender's retry
	require.Equal(t, http.StatusAccepted, code, "%v", out)

	code, out = post(t, base+"/v2/change/enqueue", "", "application/json", deploy) // a second deploy, a re-run
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	n := changesOn(t, replica.Addr())
	require.Equal(t, "2", n, "two change events, the first retried once and each then answered 202, are stored %s time(s)", n)
}

// TestServeChangeSenderGaveUpStoredOnce: a sender whose own timeout is
// shorter than wait_timeout hangs up while the change's wait is out.
// The change was stored with its digest; the sender's retry is that
// change, not another.
func TestServeChangeSenderGaveUpStoredOnce(t *testing.T) {
	base, replica, served := serveWithReplica(t)
	event := []byte(`{"routing_key":"` + pdRoutingKey + `","payload":{"summary":"Deploy checkout-api 2026.11.23-4","source":"github-actions","timestamp":"2026-11-23T10:00:00Z"}}`)

	replica.Pause(t)
	impatient := &http.Client{Timeout: 500 * time.Millisecond}
	resp, err := impatient.Post(base+"/v2/change/enqueue", "application/json", bytes.NewReader(event))
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the sender gives up before wait_timeout")
	// Klaxon notices the hang-up before the replica comes back: a wait
	// that a replica acknowledges in the instant the sender gives up is
	// answered 202 on a connection the sender left (its digest then
	// forgotten), and no server can tell that the sender missed it.
	waitFor(t, "Klaxon gives up the hung-up attempt", func() bool {
		return strings.Contains(served.log.String(), "msg=\"change enqueue\"") && strings.Contains(served.log.String(), "context canceled")
	})
	replica.Resume(t)
	waitFor(t, "the replica holds the first attempt's change", func() bool { return changesOn(t, replica.Addr()) == "1" })

	code, out := post(t, base+"/v2/change/enqueue", "", "application/json", event) // the sender's retry
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	require.Equal(t, "1", changesOn(t, replica.Addr()), "one change event, sent again after its sender timed out, is stored once")
}

// changesOn counts the change events the Redis at addr holds, of every
// integration.
func changesOn(t *testing.T, addr string) string {
	t.Helper()
	n, err := redistest.Do(addr, "EVAL", "local n = 0 for _, k in ipairs(redis.call('KEYS', '{klaxon:ch:*}')) do "+
		"if redis.call('TYPE', k).ok == 'zset' then n = n + redis.call('ZCARD', k) end end return n", "0")
	require.NoError(t, err)
	return n
}
