package review_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/review"
)

// TestMarkdownDeliveredBeforeItsTryEnded: an SMS whose request to its
// provider timed out, and was made again inline, though the provider had
// sent the first: its delivered report came while the try was still
// with the provider, so before the time of its page_sent (the try's
// end), whether the try then went out or failed and the engine recorded
// the page sent for the report. A delivered report is of the page that
// went out: the review pairs them, and does not say it had no report.
func TestMarkdownDeliveredBeforeItsTryEnded(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	step := 0
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	delivered := klaxon.Event{At: at(5), Kind: klaxon.EventPageDelivered, Step: &step, Notification: 1, User: "dana", Via: "sms", Text: "delivered"}
	for _, tc := range []struct {
		name   string
		events []klaxon.Event
	}{
		{"the try went out", []klaxon.Event{
			delivered,
			{At: at(25), Kind: klaxon.EventPageSent, Step: &step, Notification: 1, User: "dana", Via: "sms"},
		}},
		{"the try failed", []klaxon.Event{
			delivered,
			{At: at(25), Kind: klaxon.EventPageFailed, Step: &step, Notification: 1, User: "dana", Via: "sms", How: klaxon.HowRetry,
				Text: "try 1 failed: twilio timed out; trying again at 2026-11-23T22:00:35Z"},
			{At: at(25), Kind: klaxon.EventPageSent, Step: &step, Notification: 1, User: "dana", Via: "sms",
				Text: "went out though its try failed: its provider reported it reached as it was tried"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inc := &klaxon.Incident{ID: "42", Summary: "disk full", State: klaxon.StateTriggered, CreatedAt: t0}
			events := append([]klaxon.Event{
				{At: t0, Kind: klaxon.EventTriggered, Alert: "am/a"},
				{At: t0, Kind: klaxon.EventEscalated, Step: &step, Text: "step 1: user:dana"},
			}, tc.events...)
			md := review.Markdown(inc, events, nil, time.UTC)
			paged := whoWasPaged(md)
			require.Contains(t, paged, "| dana | 1 | sms 1 |\n", paged)
			require.Contains(t, paged, "| delivered 2026-11-23 22:00:05 UTC: delivered", paged)
			require.NotContains(t, paged, "no report", paged)
		})
	}
}
