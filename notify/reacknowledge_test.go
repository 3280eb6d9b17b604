package notify

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// TestReacknowledgeIsNoUpdate: acknowledging an acknowledged incident
// again restarts its ack_timeout, and is on the timeline, but is no news
// for its subscribers: they heard it was acknowledged. A responder who
// acknowledges again every few minutes, still on it, must not mail them
// "acknowledged" each time.
func TestReacknowledgeIsNoUpdate(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	u := NewUpdates(nil, nil, nil, slog.New(slog.DiscardHandler))
	inc := &klaxon.Incident{ID: "7", Summary: "db down", State: klaxon.StateTriggered, CreatedAt: t0,
		Policy: klaxon.Policy{AckTimeout: 30 * time.Minute, Subscribers: []string{"user:carol"}}}
	for i, who := range []klaxon.Actor{{By: "alice", How: "sms"}, {By: "alice", How: "sms"}, {By: "bob", How: "api"}} {
		inc.Recorded = nil
		changed, err := incident.Acknowledge(inc, t0.Add(time.Duration(i)*time.Minute), who)
		require.NoError(t, err)
		require.True(t, changed, "the ack timeout restarts")
		u.Committed([]*klaxon.Incident{inc})
	}
	var got []string
	for len(u.queue) > 0 {
		up := <-u.queue
		got = append(got, up.kind+": "+up.text)
	}
	require.Equal(t, []string{"acknowledged: Incident #7 acknowledged by alice: db down"}, got)
}
