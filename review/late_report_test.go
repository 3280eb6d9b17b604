package review_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/review"
)

// TestMarkdownPageReportedAfterItsTryFailed: a call whose tries failed
// though its provider placed them is recorded sent when its provider
// reports it reached (escalate's Delivery), after what came before on
// the timeline for the same page: the report of an earlier try's call
// that rang unanswered, or the acknowledgement that gave its retry up.
// The page that went out was delivered: the review pairs it with its
// own report, not with what came before it.
func TestMarkdownPageReportedAfterItsTryFailed(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	step := 0
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	failed := func(s int, how, text string) klaxon.Event {
		return klaxon.Event{At: at(s), Kind: klaxon.EventPageFailed, Step: &step, Notification: 1, User: "dana", Via: "voice", How: how, Text: text}
	}
	sent := klaxon.Event{At: at(90), Kind: klaxon.EventPageSent, Step: &step, Notification: 1, User: "dana", Via: "voice",
		Text: "went out though its try failed: its provider reported it completed"}
	delivered := klaxon.Event{At: at(90), Kind: klaxon.EventPageDelivered, Step: &step, Notification: 1, User: "dana", Via: "voice", Text: "completed"}
	for _, tc := range []struct {
		name   string
		before []klaxon.Event
	}{
		{"an earlier call unanswered", []klaxon.Event{
			failed(1, klaxon.HowRetry, "try 1 failed: twilio unreachable; trying again at 2026-11-23T22:00:11Z"),
			failed(40, "", "no-answer"),
			failed(41, klaxon.HowRetry, "try 2 failed: twilio unreachable; trying again at 2026-11-23T22:01:01Z"),
		}},
		{"its retry given up", []klaxon.Event{
			failed(1, klaxon.HowRetry, "try 1 failed: twilio unreachable; trying again at 2026-11-23T22:00:11Z"),
			{At: at(60), Kind: klaxon.EventAcknowledged, By: "dana", How: "voice"},
			failed(60, "", "not tried again after 1 failed tries: acknowledged"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inc := &klaxon.Incident{ID: "42", Summary: "disk full", State: klaxon.StateAcknowledged, CreatedAt: t0}
			events := append([]klaxon.Event{
				{At: t0, Kind: klaxon.EventTriggered, Alert: "am/a"},
				{At: t0, Kind: klaxon.EventEscalated, Step: &step, Text: "step 1: user:dana"},
			}, tc.before...)
			events = append(events, sent, delivered)
			md := review.Markdown(inc, events, nil, time.UTC)
			paged := whoWasPaged(md)
			require.Contains(t, paged, "| dana | 1 | voice 1 |\n", paged)
			require.Contains(t, paged, "| 1 | dana | voice (went out though its try failed: its provider reported it completed) | 1 | 2026-11-23 22:01:30 UTC | 1m30s | delivered 2026-11-23 22:01:30 UTC: completed", paged)
		})
	}
}
