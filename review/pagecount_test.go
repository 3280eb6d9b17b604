package review_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/review"
)

// TestMarkdownPagesPerPerson: the review says how many pages went out to
// each person, by which contact methods, whatever the table of pages
// leaves out: an incident paged for hours, whose 300 pages the table
// lists the first and last 50 of, still says that alice had 200 and bob
// 100.
func TestMarkdownPagesPerPerson(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	step := 0
	inc := &klaxon.Incident{ID: "42", Summary: "long", State: klaxon.StateTriggered, CreatedAt: t0}
	events := []klaxon.Event{{At: t0, Kind: klaxon.EventTriggered, Alert: "am/a"}}
	for i := 1; i <= 100; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		events = append(events,
			klaxon.Event{At: at, Kind: klaxon.EventPageSent, Step: &step, Notification: 3*i - 2, User: "alice", Via: "sms"},
			klaxon.Event{At: at, Kind: klaxon.EventPageSent, Step: &step, Notification: 3*i - 1, User: "alice", Via: "voice"},
			klaxon.Event{At: at, Kind: klaxon.EventPageSent, Step: &step, Notification: 3 * i, User: "bob", Via: "email"},
		)
	}
	md := review.Markdown(inc, events, directory([]klaxon.User{{ID: "alice", Name: "Alice Chen"}}), time.UTC)
	paged := whoWasPaged(md)
	require.Contains(t, paged, "200 more pages, not listed", "the table is bounded")
	require.Contains(t, paged, "| alice (Alice Chen) | 200 | sms 100, voice 100 |\n")
	require.Contains(t, paged, "| bob | 100 | email 100 |\n")
}
