package twilio_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

var actionRE = regexp.MustCompile(`<Gather action="([^"]+)"`)

// gatherAction is the path and query of the Gather action in twiml,
// where Twilio posts the next key.
func gatherAction(t *testing.T, twiml string) string {
	t.Helper()
	m := actionRE.FindStringSubmatch(twiml)
	require.NotNil(t, m, "a Gather: %s", twiml)
	u, err := url.Parse(html.UnescapeString(m[1]))
	require.NoError(t, err)
	return u.RequestURI()
}

// answered opens an incident paged to alice by voice, answers its call,
// and returns the incident and the call's first TwiML.
func answered(t *testing.T, r *rig) (id, twiml string) {
	t.Helper()
	id = r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0})
	return id, r.answer(t, id)
}

// ackedByAlice checks that incident id is acknowledged, by alice.
func ackedByAlice(t *testing.T, r *rig, id string) {
	t.Helper()
	inc := r.Incident(t, id)
	require.Equal(t, klaxon.StateAcknowledged, inc.State)
	require.Equal(t, "alice", inc.AckedBy)
}

// pressInTrouble answers the call of a new incident (answered), and
// presses 1 on it with the store in trouble (breakIt): the call tells
// it, as told says, with the menu again, and nothing was done. Once
// mend has it well, the same key pressed again on the menu that came
// acknowledges the incident, which it returns.
func pressInTrouble(t *testing.T, r *rig, told string, breakIt, mend func()) string {
	t.Helper()
	id, out := answered(t, r)
	press := url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "Digits": {"1"}}
	breakIt()
	code, out := r.post(t, gatherAction(t, out), press, "")
	require.Equal(t, http.StatusOK, code, "Twilio would say an application error and hang up: %s", out)
	require.Contains(t, out, told)
	require.Contains(t, out, "Press 1 to acknowledge", "the menu again, to try again")
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, id).State)

	mend()
	require.Contains(t, r.press(t, gatherAction(t, out), "1"), "Incident "+id+" acknowledged. Goodbye.")
	return id
}

// TestKeyPressWhileStoreInTrouble: a key press that Klaxon cannot record
// (the store cannot be read or written for a moment) is answered with
// TwiML that says so and offers the menu again, and the same key pressed
// again on the same call acts. Twilio does not retry a call's webhook:
// a 503 makes it say "an application error has occurred" and hang up,
// and a second press of the same key on the same call is the same
// signed request, which the memory of callbacks must not take for a
// replay.
func TestKeyPressWhileStoreInTrouble(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(r *rig)
	}{
		{"memory of callbacks unreachable", func(r *rig) { r.memory.down.Store(true) }},
		{"store cannot write", func(r *rig) { r.Store.FailCommits(1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			id := pressInTrouble(t, r, "Klaxon could not record it", func() { tc.breakIt(r) }, func() { r.memory.down.Store(false) })
			ackedByAlice(t, r, id)
		})
	}
}

// TestKeyPressAgainAfterRepeat: after a key press Klaxon could not
// record, the responder asks for the message again (star), or presses a
// key not on the menu, before pressing her key again. The menu that
// comes then must post to a URL the failed press was not signed for:
// on the first URL, the same key is the same signed request, which the
// memory of callbacks holds, and the call said "That key was taken
// already" and hung up while nothing had been done.
func TestKeyPressAgainAfterRepeat(t *testing.T) {
	for _, between := range []string{"*", "9"} {
		t.Run("then "+between, func(t *testing.T) {
			r := newRig(t)
			id, out := answered(t, r)

			press := func(digits string) string {
				t.Helper()
				out = r.press(t, gatherAction(t, out), digits)
				return out
			}
			r.Store.FailCommits(1)
			require.Contains(t, press("1"), "Klaxon could not record it")
			require.Contains(t, press(between), "Press 1 to acknowledge")
			require.Contains(t, press("1"), "Incident "+id+" acknowledged. Goodbye.")
			ackedByAlice(t, r, id)
		})
	}
}

// TestKeyPressWhileStoreUnreachable: a key press that comes while the
// store cannot be read at all (Redis down a moment, the usual store
// trouble) is told on the call too, with the menu again: a 503 has
// Twilio say "an application error has occurred" and hang up, and the
// responder's key is lost with the call.
func TestKeyPressWhileStoreUnreachable(t *testing.T) {
	r := newRig(t)
	id := pressInTrouble(t, r, "Klaxon could not", func() { r.reads.down.Store(true) }, func() { r.reads.down.Store(false) })
	require.Equal(t, "alice", r.Incident(t, id).AckedBy)
}

// TestKeyPressRetriedIsNoReplayLater: a key press that the memory of
// callbacks could not record, told on the call and pressed again there
// (try=2), acts once: the first press's signed request, sent again
// later (a replay, which the memory exists to refuse), must not act a
// second time. An escalation replayed so pages the next step again.
func TestKeyPressRetriedIsNoReplayLater(t *testing.T) {
	r := newRig(t)
	id, out := answered(t, r)
	var code int

	press := url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "Digits": {"3"}}
	first := gatherAction(t, out)
	r.memory.down.Store(true)
	code, out = r.post(t, first, press, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Contains(t, out, "Klaxon could not record it")
	r.memory.down.Store(false)
	code, out = r.post(t, gatherAction(t, out), press, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Contains(t, out, "Incident "+id+" escalated. Goodbye.")
	escalated := r.Incident(t, id).Escalation

	code, out = r.post(t, first, press, "") // the first press, replayed
	require.Equal(t, http.StatusOK, code, out)
	require.NotContains(t, out, "escalated", "the key acted on the call already")
	require.Equal(t, escalated, r.Incident(t, id).Escalation, "escalated once")
}
