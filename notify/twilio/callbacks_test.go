package twilio_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/twiliotest"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// TestReplyActsOnPagesBeforeIt: a reply that names no incident ("AA",
// "A") acts only on incidents that paged the person before Klaxon
// received it; one that paged them after, or paged someone else, is left
// alone, and the answer says so. A reply naming an incident still acts.
func TestReplyActsOnPagesBeforeIt(t *testing.T) {
	r := newRig(t)
	sid := func(n int) string { return "SM" + strings.Repeat(string(rune('0'+n)), 32) }
	first := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
	others := r.Open(t, "search", klaxon.Sent{Notification: 1, User: "bob", Via: klaxon.ViaEmail, At: t0})
	// Recorded after the reply came (another replica, a page in flight).
	later := r.Open(t, "checkout", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0.Add(2 * time.Minute)})
	r.Clock.Add(time.Minute)

	out := r.sms(t, sid(1), "AA")
	require.Contains(t, out, "Acknowledged #"+first+" (payments: payments is down)")
	require.Contains(t, out, "not #"+later+": paged you after this reply")
	require.NotContains(t, out, "#"+others)
	require.Equal(t, klaxon.StateAcknowledged, r.Incident(t, first).State)
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, later).State)
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, others).State)

	// A bare reply takes the latest page before it.
	out = r.sms(t, sid(2), "R")
	require.Contains(t, out, "Resolved #"+first)
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, later).State)
	out = r.sms(t, sid(3), "A")
	require.Equal(t, "Nothing was done: no incident had paged you when this reply came; your open incidents are "+later+".", twimlText(out))
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, later).State)

	// Named, it acts.
	out = r.sms(t, sid(4), later+"A")
	require.Contains(t, out, "Acknowledged #"+later)
	require.Equal(t, klaxon.StateAcknowledged, r.Incident(t, later).State)

	// Once the page is before the reply, a bare reply takes it.
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, others).State)
	r.Clock.Add(2 * time.Minute)
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
	first := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
	r.Clock.Add(time.Minute)
	pending := r.Open(t, "checkout")
	r.Update(t, pending, func(inc *klaxon.Incident) {
		inc.Pending = []klaxon.Notification{{ID: 1, User: "alice", Via: klaxon.ViaSMS, Due: r.Clock.Now()}}
	})
	r.Clock.Add(time.Millisecond)

	out := r.sms(t, "SM"+strings.Repeat("7", 32), "AA")
	require.Contains(t, out, "Acknowledged #"+first)
	require.NotContains(t, out, "Acknowledged #"+pending)
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, pending).State)
	out = r.sms(t, "SM"+strings.Repeat("8", 32), "R")
	require.Contains(t, out, "Resolved #"+first, "a bare reply takes the page that went out, not the one in the outbox")
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, pending).State)
	// Named, it acts: the page may be going out as the person replies.
	out = r.sms(t, "SM"+strings.Repeat("9", 32), pending+"A")
	require.Contains(t, out, "Acknowledged #"+pending)
}

// TestReplyWhenTheStoreCannotWrite: an SMS reply that fails on a store
// that cannot write tells the person to try again, not the store's error,
// and a later reply acts.
func TestReplyWhenTheStoreCannotWrite(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
	r.Clock.Add(time.Minute)
	r.Store.FailCommits(1)
	out := r.sms(t, "SM"+strings.Repeat("1", 32), id+"A")
	require.Contains(t, out, "#"+id+" not changed: Klaxon could not record it; try again")
	require.NotContains(t, out, "no space left on device")
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, id).State)

	out = r.sms(t, "SM"+strings.Repeat("2", 32), id+"A")
	require.Contains(t, out, "Acknowledged #"+id)
}

// TestKeyRefused: a key press that the incident's state refuses is
// told why in words, once.
func TestKeyRefused(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0})
	r.Clock.Add(time.Minute)
	require.Contains(t, r.sms(t, "SM"+strings.Repeat("3", 32), id+"R"), "Resolved #"+id)
	gather := twilio.VoicePath + "?" + url.Values{"incident": {id}, "n": {"1"}, "step": {"gather"}}.Encode()
	code, out := r.post(t, gather, url.Values{"CallSid": {"CA" + strings.Repeat("4", 32)}, "To": {alicePhone}, "Digits": {"1"}}, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Contains(t, out, "Incident "+id+", payments is down, is resolved already. Nothing to do. Goodbye.")
	require.Equal(t, klaxon.StateResolved, r.Incident(t, id).State)
}

// TestReplayedReplyLater: a signed reply replayed days later does not
// act on the pages that came since: the memory of replies is a month.
func TestReplayedReplyLater(t *testing.T) {
	r := newRig(t)
	first := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
	r.Clock.Add(time.Minute)
	sid := "SM" + strings.Repeat("5", 32)
	require.Contains(t, r.sms(t, sid, "R"), "Resolved #"+first)

	r.Clock.Add(29 * 24 * time.Hour)
	later := r.Open(t, "checkout", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: r.Clock.Now()})
	r.Clock.Add(time.Minute)
	r.sms(t, sid, "R")
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, later).State, "the replay did nothing")
}

// TestReplayCutOtherwise: Twilio signs the URL and each field's name
// and value with nothing between them, so a captured callback keeps its
// signature when cut otherwise into a URL and fields. Such a replay acts
// no more than the callback as it came: an SMS reply whose MessageSid is
// sent as a field "MessageSidSM..." with no value, a key press whose
// CallSid is so, a page's report of page 12 ("n=12", then "ErrorCode")
// sent as one of page 1 ("n=1", then "2ErrorCode").
func TestReplayCutOtherwise(t *testing.T) {
	t.Run("an SMS reply", func(t *testing.T) {
		r := newRig(t)
		first := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
		r.Clock.Add(time.Minute)
		sid := "SM" + strings.Repeat("5", 32)
		reply := url.Values{"MessageSid": {sid}, "From": {alicePhone}, "To": {"+15550100000"}, "Body": {"R"}}
		sig := twiliotest.Sign(authToken, r.base+twilio.SMSPath, reply)
		code, out := r.post(t, twilio.SMSPath, reply, sig)
		require.Equal(t, http.StatusOK, code, out)
		require.Contains(t, out, "Resolved #"+first)

		r.Clock.Add(24 * time.Hour)
		later := r.Open(t, "checkout", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: r.Clock.Now()})
		r.Clock.Add(time.Minute)
		cut := url.Values{"MessageSid" + sid: {""}, "From": {alicePhone}, "To": {"+15550100000"}, "Body": {"R"}}
		require.Equal(t, sig, twiliotest.Sign(authToken, r.base+twilio.SMSPath, cut), "the same signed string")
		code, out = r.post(t, twilio.SMSPath, cut, sig)
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, klaxon.StateTriggered, r.Incident(t, later).State, "the replay acted: %s", out)
	})

	t.Run("a key press", func(t *testing.T) {
		r := newRig(t)
		id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0})
		gather := twilio.VoicePath + "?" + url.Values{"incident": {id}, "n": {"1"}, "step": {"gather"}}.Encode()
		call := "CA" + strings.Repeat("2", 32)
		press := url.Values{"CallSid": {call}, "To": {alicePhone}, "Digits": {"3"}}
		sig := twiliotest.Sign(authToken, r.base+gather, press)
		code, out := r.post(t, gather, press, sig)
		require.Equal(t, http.StatusOK, code, out)
		require.Contains(t, out, "escalated")

		cut := url.Values{"CallSid" + call: {""}, "To": {alicePhone}, "Digits": {"3"}}
		code, out = r.post(t, gather, cut, sig)
		require.Equal(t, http.StatusOK, code, out)
		require.Contains(t, out, "That key was taken already.")
	})

	t.Run("a page's report", func(t *testing.T) {
		r := newRig(t)
		id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
		path := twilio.StatusPath + "?incident=" + id + "&n=12"
		report := url.Values{"ErrorCode": {"30003"}, "MessageSid": {"SM1"}, "MessageStatus": {"undelivered"}}
		sig := twiliotest.Sign(authToken, r.base+path, report)
		code, out := r.post(t, path, report, sig) // as it came: of no page of the incident
		require.Equal(t, http.StatusNoContent, code, out)

		moved := url.Values{"2ErrorCode": {"30003"}, "MessageSid": {"SM1"}, "MessageStatus": {"undelivered"}}
		code, out = r.post(t, twilio.StatusPath+"?incident="+id+"&n=1", moved, sig)
		require.Equal(t, http.StatusForbidden, code, "a field no Twilio callback has: %s", out)
		events, _, err := r.Store.Timeline(t.Context(), id, 0, 100)
		require.NoError(t, err)
		require.Empty(t, events, "page 1 recorded as failed by page 12's report")
	})
}

// TestCallbacksRefuse: a callback without Twilio configured gets 404, a
// forged one 403, one that names no page 400; none changes anything.
func TestCallbacksRefuse(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
	reply := url.Values{"MessageSid": {"SM" + strings.Repeat("1", 32)}, "From": {alicePhone}, "Body": {id + "A"}}

	code, out := r.post(t, twilio.SMSPath, reply, "bm90IGEgc2lnbmF0dXJl")
	require.Equal(t, http.StatusForbidden, code, out)
	require.Contains(t, out, "bad signature")
	code, out = r.post(t, twilio.VoicePath, url.Values{"CallSid": {"CA1"}}, "")
	require.Equal(t, http.StatusBadRequest, code, out)
	code, out = r.post(t, twilio.VoicePath+"?incident=999&n=1", url.Values{"CallSid": {"CA1"}}, "")
	require.Equal(t, http.StatusNotFound, code, out)

	auth := r.auth.Swap(nil)
	code, out = r.post(t, twilio.SMSPath, reply, "")
	require.Equal(t, http.StatusNotFound, code, out)
	require.Contains(t, out, "Twilio is not configured")
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, id).State)

	// Configured again (a reload), the same reply acts.
	r.auth.Store(auth)
	require.Contains(t, r.sms(t, reply.Get("MessageSid"), id+"A"), "Acknowledged #"+id)
}

// TestCallbacksActOnce: a callback delivered again acts once; while the
// memory of callbacks cannot be read, a key press is not acted on, the
// call says so (Twilio does not retry a call's webhook: see
// TestKeyPressWhileStoreInTrouble), and the press, not remembered, acts
// when it comes again.
func TestCallbacksActOnce(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0})
	gather := twilio.VoicePath + "?" + url.Values{"incident": {id}, "n": {"1"}, "step": {"gather"}}.Encode()
	press := url.Values{"CallSid": {"CA" + strings.Repeat("2", 32)}, "To": {alicePhone}, "Digits": {"1"}}

	r.memory.down.Store(true)
	code, out := r.post(t, gather, press, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Contains(t, out, "Klaxon could not record it")
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, id).State)

	r.memory.down.Store(false)
	code, out = r.post(t, gather, press, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Contains(t, out, "Incident "+id+" acknowledged. Goodbye.")
	code, out = r.post(t, gather, press, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Contains(t, out, "That key was taken already.")

	// A key press on a page that was no call to the number's owner.
	other := r.Open(t, "search", klaxon.Sent{Notification: 1, User: "bob", Via: klaxon.ViaVoice, At: t0})
	code, out = r.post(t, strings.Replace(gather, "incident="+id, "incident="+other, 1), press, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Contains(t, out, "This call was not a page to you.")
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, other).State)
}

// TestStatusCallback: a final status is recorded on the timeline; one
// still in progress, or of an unknown page, is answered and changes
// nothing.
func TestStatusCallback(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
	status := func(n, state string) int {
		code, _ := r.post(t, twilio.StatusPath+"?incident="+id+"&n="+n, url.Values{"MessageSid": {"SM1"}, "MessageStatus": {state}, "ErrorCode": {"30003"}}, "")
		return code
	}
	require.Equal(t, http.StatusNoContent, status("1", "sent"))
	require.Equal(t, http.StatusNoContent, status("9", "failed"))
	require.Equal(t, http.StatusNoContent, status("1", "undelivered"))
	events, _, err := r.Store.Timeline(t.Context(), id, 0, 100)
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.Equal(t, klaxon.EventPageFailed, events[0].Kind)
	require.Equal(t, "undelivered (error 30003)", events[0].Text)
}

// TestStatusCallbackOfBundle: the report of a bundle's SMS is every
// page's it stood for: undelivered, each moves on.
func TestStatusCallbackOfBundle(t *testing.T) {
	r := newRig(t)
	a := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
	b := r.Open(t, "checkout", klaxon.Sent{Notification: 2, User: "alice", Via: klaxon.ViaSMS, At: t0})
	u, err := url.Parse(twilio.StatusURL(r.base, a, 1, klaxon.PageRef{Incident: b, Notification: 2}))
	require.NoError(t, err)
	code, out := r.post(t, u.RequestURI(), url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}}, "")
	require.Equal(t, http.StatusNoContent, code, out)
	for _, id := range []string{a, b} {
		events, _, err := r.Store.Timeline(t.Context(), id, 0, 100)
		require.NoError(t, err)
		require.Len(t, events, 1, "incident %s", id)
		require.Equal(t, klaxon.EventPageFailed, events[0].Kind)
	}
}

// TestReplyNotes: "42N text" notes text on incident 42 as the replying
// user, by SMS, and leaves its state alone; "N text" notes on the latest
// page's incident.
func TestReplyNotes(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
	r.Clock.Add(time.Minute)

	out := r.sms(t, "SM"+strings.Repeat("7", 32), id+"N rolling back the deploy")
	require.Equal(t, "Noted on #"+id+" (payments: payments is down)", twimlText(out))
	out = r.sms(t, "SM"+strings.Repeat("8", 32), "n done, watching")
	require.Equal(t, "Noted on #"+id+" (payments: payments is down)", twimlText(out))
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, id).State)

	events, _, err := r.Store.Timeline(t.Context(), id, 0, 100)
	require.NoError(t, err)
	var notes []string
	for _, e := range events {
		if e.Kind == klaxon.EventNote {
			notes = append(notes, e.By+"/"+e.How+": "+e.Text)
		}
	}
	require.Equal(t, []string{"alice/sms: rolling back the deploy", "alice/sms: done, watching"}, notes)
}

// TestAckAllAnswerFits: in a storm, AA acknowledges every incident paged
// to the person, and the answer is an SMS Twilio sends: at most 1,600
// characters, where a longer one fails (error 21617) and the person
// learns nothing of what AA did. It names the incidents while they fit,
// and says how many more.
func TestAckAllAnswerFits(t *testing.T) {
	r := newRig(t)
	const n = 400 // their IDs alone take more than an SMS
	for i := range n {
		r.Open(t, fmt.Sprintf("service-%03d", i), klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
	}
	later := r.Open(t, "checkout", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0.Add(2 * time.Minute)})
	r.Clock.Add(time.Minute)
	answer := html.UnescapeString(twimlText(r.sms(t, "SM"+strings.Repeat("a", 32), "AA")))
	require.LessOrEqual(t, len([]rune(answer)), twilio.MaxAnswer, answer)
	require.Regexp(t, `^Acknowledged #400 #399 #398 (#\d+ )+… and \d+ more; not #`+later+`: paged you after this reply$`, answer)
	acked := 0
	for i := 1; i <= n; i++ {
		if r.Incident(t, strconv.Itoa(i)).State == klaxon.StateAcknowledged {
			acked++
		}
	}
	require.Equal(t, n, acked, "each acknowledged, named in the answer or not")
}

// TestCodeForClosedIncident: a code for an incident that paged the
// person and resolved before the reply came says so; one for an
// incident that never paged them stays unknown.
func TestCodeForClosedIncident(t *testing.T) {
	r := newRig(t)
	gone := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
	open := r.Open(t, "search", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, At: t0})
	bobs := r.Open(t, "checkout", klaxon.Sent{Notification: 1, User: "bob", Via: klaxon.ViaSMS, At: t0})
	for _, id := range []string{gone, bobs} {
		_, err := r.Engine.Act(t.Context(), klaxon.ActionResolve, id, klaxon.Actor{By: "carol", How: "api"})
		require.NoError(t, err)
	}
	r.Clock.Add(time.Minute)
	require.Equal(t, "#"+gone+" is resolved already (payments: payments is down): nothing was done.",
		twimlText(r.sms(t, "SM"+strings.Repeat("b", 32), gone+"A")))
	require.Equal(t, "Unknown code "+bobs+"A: your open incidents are "+open+".",
		twimlText(r.sms(t, "SM"+strings.Repeat("c", 32), bobs+"A")))

	// A page to alice that failed for good never reached her: that
	// incident, open or resolved, is as unknown to her.
	failed := r.Open(t, "billing", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, Failed: true})
	failedGone := r.Open(t, "ledger", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaSMS, Failed: true})
	_, err := r.Engine.Act(t.Context(), klaxon.ActionResolve, failedGone, klaxon.Actor{By: "carol", How: "api"})
	require.NoError(t, err)
	for i, id := range []string{failed, failedGone} {
		out := twimlText(r.sms(t, "SM"+strings.Repeat(strconv.Itoa(i), 32), id+"A"))
		require.True(t, strings.HasPrefix(out, "Unknown code "+id+"A"), out)
		require.Equal(t, klaxon.StateTriggered, r.Incident(t, failed).State)
	}
}
