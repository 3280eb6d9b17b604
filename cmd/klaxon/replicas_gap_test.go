package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/redistest"
)

// serveWithReplica runs klaxon serve on a Redis master with one replica
// and wait_replicas: 1, and returns its base URL and the replica.
func serveWithReplica(t *testing.T) (string, *redistest.Server) {
	t.Helper()
	master := redistest.Start(t)
	_, port, err := net.SplitHostPort(master.Addr())
	require.NoError(t, err)
	replica := redistest.Start(t, "--replicaof", "127.0.0.1", port)
	reply, err := redistest.Do(master.Addr(), "WAIT", "1", "15000") // the replica has synced
	require.NoError(t, err)
	require.Equal(t, "1", reply)
	config := writeConfig(t, time.Hour)
	rewrite(t, config, "store: {path: data/klaxon.db}", "store: {redis: {addrs: ["+master.Addr()+"], wait_replicas: 1, wait_timeout: 2s}}")
	base, _, _ := startServe(t, config)
	return base, replica
}

// TestServeWaitsForReplicasPagerDutyAcknowledge: the README's
// Durability contract ("each delivery is answered 2xx only once that
// many replicas acknowledged its commits") holds for a PagerDuty
// acknowledge event too: it commits the incident's acknowledgement,
// which a sender never sends again. While the replica does not
// acknowledge, it must be answered 503, not 202.
func TestServeWaitsForReplicasPagerDutyAcknowledge(t *testing.T) {
	base, replica := serveWithReplica(t)
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
	base, replica := serveWithReplica(t)
	replica.Pause(t)
	defer replica.Resume(t)
	code, out := post(t, base+"/v2/change/enqueue", "", "application/json",
		[]byte(`{"routing_key":"`+pdRoutingKey+`","payload":{"summary":"Deploy checkout-api 2026.11.23-3","source":"github-actions"}}`))
	require.Equal(t, http.StatusServiceUnavailable, code,
		"a change event answered %d (%v) while no replica holds it", code, out)
}
