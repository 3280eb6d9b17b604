package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

// TestReplyActsOnPagesBeforeIt: a reply that names no incident ("AA",
// "A") acts only on incidents that paged the person before Klaxon
// received it; one that paged them after, or paged someone else, is left
// alone, and the answer says so. A reply naming an incident still acts.
func TestReplyActsOnPagesBeforeIt(t *testing.T) {
	r := newRig(t)
	sid := func(n int) string { return "SM" + strings.Repeat(string(rune('0'+n)), 32) }
	first := r.open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
	others := r.open(t, "search", klaxon.Sent{Notification: 1, User: "bob", Via: klaxon.ViaEmail, At: t0})
	// Recorded after the reply came (another replica, a page in flight).
	later := r.open(t, "checkout", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0.Add(2 * time.Minute)})
	r.clock.Add(time.Minute)

	out := r.sms(t, sid(1), "AA")
	require.Contains(t, out, "Acknowledged #"+first+" (payments: payments is down)")
	require.Contains(t, out, "not #"+later+": paged you after this reply")
	require.NotContains(t, out, "#"+others)
	require.Equal(t, klaxon.StateAcknowledged, r.incident(t, first).State)
	require.Equal(t, klaxon.StateTriggered, r.incident(t, later).State)
	require.Equal(t, klaxon.StateTriggered, r.incident(t, others).State)

	// A bare reply takes the latest page before it.
	out = r.sms(t, sid(2), "R")
	require.Contains(t, out, "Resolved #"+first)
	require.Equal(t, klaxon.StateTriggered, r.incident(t, later).State)
	out = r.sms(t, sid(3), "A")
	require.Equal(t, "Nothing was done: no incident had paged you when this reply came; your open incidents are "+later+".", twimlText(out))
	require.Equal(t, klaxon.StateTriggered, r.incident(t, later).State)

	// Named, it acts.
	out = r.sms(t, sid(4), later+"A")
	require.Contains(t, out, "Acknowledged #"+later)
	require.Equal(t, klaxon.StateAcknowledged, r.incident(t, later).State)

	// Once the page is before the reply, a bare reply takes it.
	require.Equal(t, klaxon.StateTriggered, r.incident(t, others).State)
	r.clock.Add(2 * time.Minute)
	out = r.sms(t, sid(5), "R")
	require.Contains(t, out, "Resolved #"+later)
}

// twimlText is the text of a TwiML <Message>.
func twimlText(twiml string) string {
	_, after, _ := strings.Cut(twiml, "<Message>")
	text, _, _ := strings.Cut(after, "</Message>")
	return text
}

// TestReplyLeavesPagesNotSent: a page still in the outbox, due before the
// reply but not recorded as sent, may never have reached the person: an
// "all" or bare reply does not act on its incident.
func TestReplyLeavesPagesNotSent(t *testing.T) {
	r := newRig(t)
	first := r.open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
	r.clock.Add(time.Minute)
	pending := r.open(t, "checkout")
	r.update(t, pending, func(inc *klaxon.Incident) {
		inc.Pending = []klaxon.Notification{{ID: 1, User: "alice", Via: klaxon.ViaSMS, Due: r.clock.Now()}}
	})
	r.clock.Add(time.Millisecond)

	out := r.sms(t, "SM"+strings.Repeat("7", 32), "AA")
	require.Contains(t, out, "Acknowledged #"+first)
	require.NotContains(t, out, "Acknowledged #"+pending)
	require.Equal(t, klaxon.StateTriggered, r.incident(t, pending).State)
	out = r.sms(t, "SM"+strings.Repeat("8", 32), "R")
	require.Contains(t, out, "Resolved #"+first, "a bare reply takes the page that went out, not the one in the outbox")
	require.Equal(t, klaxon.StateTriggered, r.incident(t, pending).State)
	// Named, it acts: the page may be going out as the person replies.
	out = r.sms(t, "SM"+strings.Repeat("9", 32), pending+"A")
	require.Contains(t, out, "Acknowledged #"+pending)
}

// TestReplyWhenTheStoreCannotWrite: an SMS reply that fails on a store
// that cannot write tells the person to try again, not the store's error,
// and a later reply acts.
func TestReplyWhenTheStoreCannotWrite(t *testing.T) {
	r := newRig(t)
	id := r.open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
	r.clock.Add(time.Minute)
	r.engine.failures.Store(1)
	out := r.sms(t, "SM"+strings.Repeat("1", 32), id+"A")
	require.Contains(t, out, "#"+id+" not changed: Klaxon could not record it; try again")
	require.NotContains(t, out, "no space left on device")
	require.Equal(t, klaxon.StateTriggered, r.incident(t, id).State)

	out = r.sms(t, "SM"+strings.Repeat("2", 32), id+"A")
	require.Contains(t, out, "Acknowledged #"+id)
}
