package review_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/review"
)

// TestMarkdownPageGivenUp: a page whose tries failed and were to be
// tried again, when the incident was acknowledged (which drops the pages
// not sent), never went out: the review lists it among the pages, not
// sent, with its tries, rather than say that nobody was paged.
func TestMarkdownPageGivenUp(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	step := 0
	inc := &klaxon.Incident{ID: "42", Summary: "disk full", State: klaxon.StateAcknowledged, CreatedAt: t0}
	events := []klaxon.Event{
		{At: t0, Kind: klaxon.EventTriggered, Alert: "am/a"},
		{At: t0, Kind: klaxon.EventEscalated, Step: &step, Text: "step 1: user:alice"},
		{At: t0.Add(time.Second), Kind: klaxon.EventPageFailed, Step: &step, Notification: 1, User: "alice", Via: "sms", How: klaxon.HowRetry,
			Text: "try 1 failed: twilio: 503 Service Unavailable; trying again at 2026-11-23T22:00:11Z"},
		{At: t0.Add(11 * time.Second), Kind: klaxon.EventPageFailed, Step: &step, Notification: 1, User: "alice", Via: "sms", How: klaxon.HowRetry,
			Text: "try 2 failed: twilio: 503 Service Unavailable; trying again at 2026-11-23T22:00:31Z"},
		{At: t0.Add(20 * time.Second), Kind: klaxon.EventAcknowledged, By: "ops", How: "api"},
	}
	md := review.Markdown(inc, events, nil, time.UTC)
	paged := whoWasPaged(md)
	require.NotContains(t, paged, "Nobody was paged.")
	require.Contains(t, paged, "| 1 | alice | sms | 1 | not sent | — | not tried again after 2 tries that failed, the last 2026-11-23 22:00:11 UTC: "+
		"try 2 failed: twilio: 503 Service Unavailable; trying again at 2026-11-23T22:00:31Z |\n")
}
