package slack

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestCommittedKeepsThreadedEvents: a change waits with the events its
// thread shows only: a storm's incident records an event an alert, which
// would otherwise wait, in memory, as long as Slack throttles.
func TestCommittedKeepsThreadedEvents(t *testing.T) {
	y := &Sync{waiting: map[string]*change{}, paused: map[string]time.Time{}, wake: make(chan struct{}, 1), log: slog.New(slog.DiscardHandler)}
	inc := &klaxon.Incident{ID: "7", Policy: klaxon.Policy{SlackChannel: "C1"}}
	for range 1000 {
		inc.Recorded = append(inc.Recorded, klaxon.Event{Kind: klaxon.EventAlertJoined})
	}
	inc.Recorded = append(inc.Recorded, klaxon.Event{Kind: klaxon.EventAcknowledged, By: "alice"})
	y.Committed([]*klaxon.Incident{inc})
	require.Len(t, y.waiting["7"].events, 1)
	require.Equal(t, klaxon.EventAcknowledged, y.waiting["7"].events[0].Kind)
}
