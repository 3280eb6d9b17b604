package slack

import (
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestCommittedKeepsThreadedEvents: a change waits with the events its
// thread shows only: a storm's incident records an event an alert, which
// would otherwise wait, in memory, as long as Slack throttles.
func TestCommittedKeepsThreadedEvents(t *testing.T) {
	y := idleSync()
	inc := &klaxon.Incident{ID: "7", Policy: klaxon.Policy{SlackChannel: "C1"}}
	for range 1000 {
		inc.Recorded = append(inc.Recorded, klaxon.Event{Kind: klaxon.EventAlertJoined})
	}
	inc.Recorded = append(inc.Recorded, klaxon.Event{Kind: klaxon.EventAcknowledged, By: "alice"})
	y.Committed([]*klaxon.Incident{inc})
	require.Len(t, y.waiting["7"].events, 1)
	require.Equal(t, klaxon.EventAcknowledged, y.waiting["7"].events[0].Kind)
}

// idleSync is a Sync that is not run: its queue alone.
func idleSync() *Sync {
	return NewSync(&Slack{}, nil, nil, slog.New(slog.DiscardHandler), nil)
}

// TestStormFillsOnlyItsChannel: a storm of maxWaiting incidents in one
// channel, paused by Slack's 429, does not make the sync drop the change
// of an incident in another channel, which Slack would take at once; a
// change more of the storm's channel is dropped.
func TestStormFillsOnlyItsChannel(t *testing.T) {
	y := idleSync()
	ev := klaxon.Event{Kind: klaxon.EventTriggered}
	for i := range maxWaiting + 1 {
		y.Committed([]*klaxon.Incident{{ID: strconv.Itoa(i), Policy: klaxon.Policy{SlackChannel: "CSTORM"}, Recorded: []klaxon.Event{ev}}})
	}
	require.Len(t, y.waiting, maxWaiting, "the storm's last change is dropped")
	y.pause("CSTORM", time.Hour, false) // a 429's Retry-After
	y.Committed([]*klaxon.Incident{{ID: "db", Policy: klaxon.Policy{SlackChannel: "CDATABASE"}, Recorded: []klaxon.Event{ev}}})
	c, _ := y.next()
	require.NotNil(t, c, "the other channel's change waits: %d waiting", len(y.waiting))
	require.Equal(t, "db", c.id)
}
