package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/redistest"
)

// TestServeChangeRetryAfterWaitStoresOnce: a change event answered 503
// because the replica did not acknowledge in time was stored already
// (PutChange, then ChangesReplicated); the sender's retry, as the 503
// asks, stores it again under a new ID. Every replica lag past
// wait_timeout so doubles a change in the incidents' reviews, where an
// alert's retry finds its commit and writes nothing.
func TestServeChangeRetryAfterWaitStoresOnce(t *testing.T) {
	base, replica := serveWithReplica(t)
	event := []byte(`{"routing_key":"` + pdRoutingKey + `","payload":{"summary":"Deploy checkout-api 2026.11.23-3","source":"github-actions","timestamp":"2026-11-23T10:00:00Z"}}`)

	replica.Pause(t)
	code, out := post(t, base+"/v2/change/enqueue", "", "application/json", event)
	replica.Resume(t)
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", out)
	code, out = post(t, base+"/v2/change/enqueue", "", "application/json", event) // the sender's retry
	require.Equal(t, http.StatusAccepted, code, "%v", out)

	n, err := redistest.Do(replica.Addr(), "EVAL", "local n = 0 for _, k in ipairs(redis.call('KEYS', '{klaxon:ch:*}')) do "+
		"if redis.call('TYPE', k).ok == 'zset' then n = n + redis.call('ZCARD', k) end end return n", "0")
	require.NoError(t, err)
	require.Equal(t, "1", n, "one change event, delivered twice as its 503 asked, is stored %s times", n)
}
