package notify

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestUpdatesOf: opening, acknowledging, a status update and resolving
// are updates; a plain note, a walk begun again, and events a merge
// copied from another incident are not.
func TestUpdatesOf(t *testing.T) {
	u := NewUpdates(nil, nil, nil, slog.New(slog.DiscardHandler))
	inc := &klaxon.Incident{ID: "7", Summary: "db down", Policy: klaxon.Policy{Subscribers: []string{"user:carol"}}, Recorded: []klaxon.Event{
		{Kind: klaxon.EventTriggered, Alert: "am/1"},
		{Kind: klaxon.EventNote, Text: "looking", By: "alice"},
		{Kind: klaxon.EventTriggered, Text: "snooze ended"},
		{Kind: klaxon.EventAcknowledged, By: "alice"},
		{Kind: klaxon.EventResolved, By: "bob", From: "8"},
		{Kind: klaxon.EventStatusUpdate, Text: "failing over", By: "alice"},
	}}
	u.Committed([]*klaxon.Incident{inc, {ID: "9", Recorded: inc.Recorded}}) // 9 has no subscribers
	var got []string
	for len(u.queue) > 0 {
		up := <-u.queue
		got = append(got, up.kind+": "+up.text)
	}
	require.Equal(t, []string{
		"opened: Incident #7 opened: db down",
		"acknowledged: Incident #7 acknowledged by alice: db down",
		"update: Update on incident #7 by alice: failing over",
	}, got)
}
