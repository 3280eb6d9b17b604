package twilio_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// TestCallListensWhileItSpeaks: Twilio takes a key only during a
// <Gather>; one pressed while a <Say> outside it plays is lost. A woken
// responder who knows the menu presses 1 while the incident is read:
// the incident is read inside the Gather. Without a key press, the call
// says it all once more before it hangs up: a half-awake person gets a
// second listen without having to find the star key.
func TestCallListensWhileItSpeaks(t *testing.T) {
	tw, err := twilio.VoiceTwiML(twilio.VoicePrompt{PublicURL: "https://klaxon.example.com", Incident: "42", Notification: 3,
		Summary: "disk full on db-17", Severity: "critical", Alerts: 1})
	require.NoError(t, err)
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromString(tw))
	resp := doc.SelectElement("Response")
	require.NotNil(t, resp)

	gathers := resp.SelectElements("Gather")
	require.Len(t, gathers, 2, "the call listens, then says it again and listens once more: %s", tw)
	for i, g := range gathers {
		var said []string
		for _, s := range g.SelectElements("Say") {
			said = append(said, s.Text())
		}
		all := strings.Join(said, " ")
		require.Contains(t, all, "Incident 42", "gather %d: a key is taken while the incident is read", i)
		require.Contains(t, all, "disk full on db-17", "gather %d", i)
		require.Contains(t, all, "Press 1 to acknowledge", "gather %d", i)
		require.Equal(t, "1", g.SelectAttrValue("numDigits", ""))
	}
	// Once both are over, goodbye.
	last := resp.ChildElements()[len(resp.ChildElements())-1]
	require.Equal(t, "Hangup", last.Tag)
	for _, e := range resp.ChildElements() {
		require.Contains(t, []string{"Gather", "Say", "Hangup"}, e.Tag)
	}
	// Nothing said outside a Gather but the last goodbye: no speech
	// during which a key is lost.
	var outside []string
	for _, e := range resp.SelectElements("Say") {
		outside = append(outside, e.Text())
	}
	require.Len(t, outside, 1, "only the goodbye is outside a Gather: %q", outside)
}

// TestCallOfInvalidKey: a key that is none of the menu's says so
// before the menu comes again; star repeats without a complaint.
func TestCallOfInvalidKey(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0})
	gather := twilio.VoicePath + "?incident=" + id + "&n=1&step=gather"

	code, out := r.post(t, gather, url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "Digits": {"9"}}, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Contains(t, out, "9 is not a choice.")
	require.Contains(t, out, "Press 1 to acknowledge")

	code, out = r.post(t, gather, url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "Digits": {"*"}}, "")
	require.Equal(t, http.StatusOK, code, out)
	require.NotContains(t, out, "not a choice")
	require.Contains(t, out, "Press 1 to acknowledge")
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, id).State)
}

// TestCallTakesPoundAsAKey: Twilio's Gather ends on its finishOnKey, #
// unless told otherwise, and leaves that key out of Digits: a # was
// never posted as a key, so never named as one not on the menu, and
// during the second listen it ended the Gather with nothing gathered
// ("No key was pressed. Goodbye."). With finishOnKey="" (Twilio's
// documented value for none), # is a key like the others.
func TestCallTakesPoundAsAKey(t *testing.T) {
	for _, acked := range []bool{false, true} {
		tw, err := twilio.VoiceTwiML(twilio.VoicePrompt{PublicURL: "https://klaxon.example.com", Incident: "42", Notification: 3,
			Summary: "disk full on db-17", Acked: acked})
		require.NoError(t, err)
		doc := etree.NewDocument()
		require.NoError(t, doc.ReadFromString(tw))
		gathers := doc.FindElements("//Gather")
		require.NotEmpty(t, gathers)
		for i, g := range gathers {
			a := g.SelectAttr("finishOnKey")
			require.NotNil(t, a, "gather %d ends on #, which Digits never holds: %s", i, tw)
			require.Empty(t, a.Value, "gather %d", i)
		}
	}

	r := newRig(t)
	id := r.Open(t, "payments", klaxon.Sent{Notification: 1, User: "alice", Via: klaxon.ViaVoice, At: t0})
	code, out := r.post(t, twilio.VoicePath+"?incident="+id+"&n=1&step=gather", url.Values{"CallSid": {"CA1"}, "To": {alicePhone}, "Digits": {"#"}}, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Contains(t, out, "Pound is not a choice.")
}
