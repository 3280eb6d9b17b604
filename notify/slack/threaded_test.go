package slack

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/incident"
)

// TestThreaded: a page's try that will be tried again gets no thread
// reply (a provider's outage would make one a page every backoff); a
// page sent, a page that failed for good and a step do.
func TestThreaded(t *testing.T) {
	for _, tc := range []struct {
		ev   klaxon.Event
		want bool
	}{
		{klaxon.Event{Kind: klaxon.EventPageFailed, How: klaxon.HowRetry}, false},
		{klaxon.Event{Kind: klaxon.EventPageFailed}, true},
		{klaxon.Event{Kind: klaxon.EventPageSent}, true},
		{klaxon.Event{Kind: klaxon.EventEscalated}, true},
		{klaxon.Event{Kind: klaxon.EventAlertJoined}, false},
	} {
		require.Equal(t, tc.want, threaded(tc.ev), "%s %s", tc.ev.Kind, tc.ev.How)
	}
}

// TestThreadedReacknowledge: an acknowledgement of an incident
// acknowledged already (its ack_timeout restarted: a responder still on
// it says so again) gets no thread reply:
// the thread said it was acknowledged.
func TestThreadedReacknowledge(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	inc := &klaxon.Incident{ID: "7", State: klaxon.StateTriggered, CreatedAt: t0, Policy: klaxon.Policy{AckTimeout: 30 * time.Minute}}
	_, err := incident.Acknowledge(inc, t0, klaxon.Actor{By: "alice", How: "slack"})
	require.NoError(t, err)
	require.True(t, threaded(inc.Recorded[0]))
	inc.Recorded = nil
	changed, err := incident.Acknowledge(inc, t0.Add(time.Minute), klaxon.Actor{By: "bob", How: "slack"})
	require.NoError(t, err)
	require.True(t, changed)
	require.Len(t, inc.Recorded, 1)
	require.False(t, threaded(inc.Recorded[0]), "%+v", inc.Recorded[0])
}
