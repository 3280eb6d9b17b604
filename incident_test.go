package klaxon_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestRecordKeepsTheHeader: the engine decides from the header, never by
// reading the timeline back, so Record must keep the header's account of
// pages, tries, reports, lookups and reach as the events it records say.
func TestRecordKeepsTheHeader(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	step := 0
	inc := &klaxon.Incident{}
	inc.Record(klaxon.Event{At: at(0), Kind: klaxon.EventTriggered})
	inc.Record(klaxon.Event{At: at(1), Kind: klaxon.EventLookupFailed})
	inc.Record(klaxon.Event{At: at(2), Kind: klaxon.EventLookupFailed})
	require.Equal(t, 2, inc.Escalation.LookupFailures)
	inc.Record(klaxon.Event{At: at(3), Kind: klaxon.EventEscalated, Step: &step})
	require.Zero(t, inc.Escalation.LookupFailures, "counted since the last step")
	require.False(t, inc.Escalation.Reached)

	// Two tries of the SMS fail and are tried again; the third goes out.
	sms := klaxon.Event{Kind: klaxon.EventPageFailed, How: klaxon.HowRetry, Step: &step, Notification: 1, User: "alice", Via: klaxon.ViaSMS}
	sms.At = at(4)
	inc.Record(sms)
	sms.At = at(14)
	inc.Record(sms)
	s := inc.FindSent(1)
	require.Equal(t, 2, s.Tries)
	require.Equal(t, at(4), s.FirstTry)
	require.True(t, s.At.IsZero(), "not sent yet")
	require.True(t, inc.PagedAt.IsZero())
	require.False(t, s.Failed, "a try to be tried again is no final failure")

	inc.Record(klaxon.Event{At: at(30), Kind: klaxon.EventPageSent, Step: &step, Notification: 1, User: "alice", Via: klaxon.ViaSMS})
	s = inc.FindSent(1)
	require.Equal(t, at(30), s.At)
	require.Equal(t, at(30), inc.PagedAt)
	require.True(t, inc.Escalation.Reached)

	inc.Record(klaxon.Event{At: at(31), Kind: klaxon.EventPageDelivered, Notification: 1})
	require.True(t, inc.FindSent(1).Delivered)
	inc.Record(klaxon.Event{At: at(32), Kind: klaxon.EventPageFailed, Notification: 2, Step: &step, User: "alice", Via: klaxon.ViaVoice, Text: "busy"})
	require.True(t, inc.FindSent(2).Failed)
	require.True(t, inc.FindSent(2).At.IsZero())

	// Triggered again (an ack timeout): a new walk has reached nobody yet,
	// but the first page stays the first.
	inc.Record(klaxon.Event{At: at(60), Kind: klaxon.EventTriggered})
	require.False(t, inc.Escalation.Reached)
	require.Equal(t, at(30), inc.PagedAt)
	require.Len(t, inc.Recorded, 10, "every event is on the timeline")
	require.Nil(t, inc.FindSent(3))
}

// TestRecordBoundsSent: an incident that pages for hours (a policy that
// repeats, escalations by hand) records thousands of pages; its header,
// written by every commit and carried by every incident the API lists,
// keeps the latest pages and, past them, only the latest of each person
// and contact method and those still in the outbox.
func TestRecordBoundsSent(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	step := 0
	inc := &klaxon.Incident{}
	// Notification 1 failed a try and waits in the outbox to be tried again.
	inc.Pending = []klaxon.Notification{{ID: 1, User: "alice", Via: klaxon.ViaSMS}}
	inc.Record(klaxon.Event{At: t0, Kind: klaxon.EventPageFailed, How: klaxon.HowRetry, Step: &step, Notification: 1, User: "alice", Via: klaxon.ViaSMS})
	inc.Record(klaxon.Event{At: t0, Kind: klaxon.EventPageSent, Step: &step, Notification: 2, User: "carol", Via: klaxon.ViaEmail})
	vias := []string{klaxon.ViaSMS, klaxon.ViaVoice, klaxon.ViaEmail}
	n := 2
	for i := range 3_000 {
		for _, user := range []string{"alice", "bob"} {
			for _, via := range vias {
				n++
				inc.Record(klaxon.Event{At: t0.Add(time.Duration(i) * time.Minute), Kind: klaxon.EventPageSent, Step: &step, Notification: n, User: user, Via: via})
			}
		}
	}
	require.LessOrEqual(t, len(inc.Sent), 64+2, "the latest pages, the one in the outbox and carol's")
	require.Equal(t, 1, inc.FindSent(1).Tries, "a page in the outbox keeps its tries")
	require.NotNil(t, inc.FindSent(2), "carol's only page stays: she was paged")
	for i := n - 63; i <= n; i++ {
		require.NotNil(t, inc.FindSent(i), "page %d is among the latest", i)
	}
	require.Equal(t, []string{"alice", "carol", "bob"}, inc.PagedUsers())
	require.Len(t, inc.Recorded, 2+3_000*6, "every page is on the timeline")
}
