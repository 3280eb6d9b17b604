package review_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/review"
)

// TestMarkdownAckStep: the review says at which step of the policy the
// incident was first acknowledged: the step its walk had reached then,
// counted from 1, as the timeline's escalations say. An incident that
// escalated to step 2, was acknowledged, triggered again when the
// acknowledgement timed out, walked from step 1 and was acknowledged
// again was first acknowledged at step 2, four minutes after it opened.
func TestMarkdownAckStep(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	s0, s1 := 0, 1
	inc := &klaxon.Incident{ID: "42", Summary: "disk full", State: klaxon.StateAcknowledged, CreatedAt: t0,
		AckedAt: t0.Add(40 * time.Minute), AckedBy: "alice"}
	events := []klaxon.Event{
		{At: t0, Kind: klaxon.EventTriggered, Alert: "am/a"},
		{At: t0, Kind: klaxon.EventEscalated, Step: &s0, Text: "step 1: user:alice"},
		{At: t0, Kind: klaxon.EventPageSent, Step: &s0, Notification: 1, User: "alice", Via: "sms"},
		{At: t0.Add(2 * time.Minute), Kind: klaxon.EventEscalated, Step: &s1, Text: "step 2: user:bob"},
		{At: t0.Add(2 * time.Minute), Kind: klaxon.EventPageSent, Step: &s1, Notification: 2, User: "bob", Via: "sms"},
		{At: t0.Add(4 * time.Minute), Kind: klaxon.EventAcknowledged, By: "bob", How: "sms"},
		{At: t0.Add(34 * time.Minute), Kind: klaxon.EventTriggered, Text: "acknowledgement timed out after 30m0s"},
		{At: t0.Add(34 * time.Minute), Kind: klaxon.EventEscalated, Step: &s0, Text: "step 1: user:alice"},
		{At: t0.Add(34 * time.Minute), Kind: klaxon.EventPageSent, Step: &s0, Notification: 3, User: "alice", Via: "sms"},
		{At: t0.Add(40 * time.Minute), Kind: klaxon.EventAcknowledged, By: "alice", How: "voice"},
	}
	md := review.Markdown(inc, events, nil, time.UTC)
	require.Contains(t, md, "| Acknowledged | 2026-11-23 22:04 UTC by bob via sms |\n")
	require.Contains(t, md, "| Time to acknowledge | 4m |\n")
	require.Contains(t, md, "| Acknowledged at step | 2 |\n", "which step acknowledged")

	// Never acknowledged: no step to say.
	inc = &klaxon.Incident{ID: "43", Summary: "disk full", State: klaxon.StateResolved, CreatedAt: t0, ResolvedAt: t0.Add(time.Hour)}
	md = review.Markdown(inc, append(events[:3:3], klaxon.Event{At: t0.Add(time.Hour), Kind: klaxon.EventResolved, How: "auto"}), nil, time.UTC)
	require.Contains(t, md, "| Acknowledged at step | — |\n")
	require.Contains(t, md, "| Time to acknowledge | not acknowledged |\n")
	require.True(t, strings.Contains(md, "| Time to resolve | 1h |\n"))
}
