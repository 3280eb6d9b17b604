package twilio

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/klaxonhq/klaxon"
)

// voice answers a page call: the summary and a menu, or for a key press
// (step=gather) the action. An answering machine gets a short message,
// and the page counts as not reached.
func (c *Callbacks) voice(w http.ResponseWriter, r *http.Request) {
	auth, form, id, n, ok := c.pageCallback(w, r)
	if !ok {
		return
	}
	answer := c.twimlTo(w, r)
	gathered := r.URL.Query().Get("step") == "gather"
	inc, err := c.o.Incidents.Incident(r.Context(), id)
	if err != nil && gathered && status(err) >= http.StatusInternalServerError {
		// A key pressed while the store cannot be read is told, with
		// the menu again, as one Klaxon cannot record (see again).
		c.log.ErrorContext(r.Context(), "key press not read", "incident", id, "err", err)
		answer(VoiceTwiML(VoicePrompt{PublicURL: auth.PublicURL, Incident: id, Notification: n,
			Note: "Klaxon could not read the incident; press your key again.", Try: failedTries(r) + 1}))
		return
	}
	unread := false
	if err != nil && !gathered && status(err) >= http.StatusInternalServerError {
		// The call is answered while the store cannot be read: it says
		// whose page it is and offers the menu, without the incident's
		// details. Answered 503, Twilio would say its own error and
		// hang up, and the person would not know which incident called.
		c.log.ErrorContext(r.Context(), "call's incident not read", "incident", id, "err", err)
		inc, err, unread = &klaxon.Incident{ID: id}, nil, true
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	prompt := VoicePrompt{PublicURL: auth.PublicURL, Incident: id, Notification: n, Summary: inc.Summary, Severity: inc.Severity, Alerts: inc.FiringCount,
		Acked: inc.State == klaxon.StateAcknowledged, AckedBy: inc.AckedBy}
	if unread {
		prompt.Summary = "Klaxon could not read its details just now"
	}
	if by := form.Get("AnsweredBy"); !person(by) {
		if err := c.o.Responder.Delivery(r.Context(), id, n, false, answeredBy(by)); err != nil {
			c.log.ErrorContext(r.Context(), "record delivery", "incident", id, "err", err)
		}
		what := strings.TrimRight(spokenSummary(inc.Summary), ".")
		if what != "" {
			what = ": " + what
		}
		answer(VoiceReply(fmt.Sprintf("This is Klaxon, with incident %s%s. Check your messages to respond.", id, what)))
		return
	}
	if inc.State == klaxon.StateResolved {
		// Resolved since the call was placed (by someone else, or by
		// its alerts): no menu, and a key pressed changes nothing.
		answer(VoiceReply(fmt.Sprintf("This is Klaxon. Incident %s, %s, is resolved already. Nothing to do. Goodbye.", id, spokenSummary(inc.Summary))))
		return
	}
	if !gathered {
		answer(VoiceTwiML(prompt))
		return
	}
	// A key pressed on a menu that followed presses Klaxon could not
	// record (try=N) keeps their count in every menu of the call, a
	// star's too: on an earlier URL, the key that failed is the same
	// signed request, which the memory of callbacks holds.
	prompt.Try = failedTries(r)
	digits := form.Get("Digits")
	action, ok := ParseDigit(digits)
	if !ok {
		// Star asks for the message again; another key is told it
		// is none of the menu's.
		if d := strings.TrimSpace(digits); d != "" && d != "*" {
			prompt.Note = spokenKey(d) + " is not a choice."
		}
		answer(VoiceTwiML(prompt))
		return
	}
	u, known := c.o.Phonebook.UserByPhone(form.Get("To"))
	if !known {
		answer(VoiceReply("This phone is not a Klaxon user's. Nothing was done."))
		return
	}
	// The key acts only for the person this call was placed for: the
	// callback names the page (signed by Twilio over its URL), and the
	// incident's record of pages says whom it went to.
	if !pagedByVoice(inc, n, u.ID) {
		c.log.WarnContext(r.Context(), "key press on a call that was no page to its number's owner", "incident", id, "user", u.ID)
		answer(VoiceReply("This call was not a page to you. Nothing was done. Goodbye."))
		return
	}
	// What Klaxon cannot record is told, and the menu offered again on
	// a URL of its own (Try): Twilio does not retry a call's webhook,
	// a 503 has it say "an application error has occurred" and hang
	// up, and the same key pressed again on the same URL is the same
	// signed request, which the memory of callbacks refuses.
	again := func(err error) {
		c.log.ErrorContext(r.Context(), "key press not recorded", "incident", id, "user", u.ID, "err", err)
		prompt.Note = "Klaxon could not record it; press your key again."
		prompt.Try++
		answer(VoiceTwiML(prompt))
	}
	// A press on a menu of a later try acts for those Klaxon could not
	// record before it on the call, which the memory may not hold: it
	// records them too, so that none acts when sent again.
	first, err := c.firstOf(r, callbackMemory, append([]string{"voice:" + signedKey(r, auth.PublicURL)}, earlierPresses(r, auth.PublicURL, id, n, prompt.Try)...)...)
	if err != nil {
		again(fmt.Errorf("twilio callback: %w", err))
		return
	}
	if !first {
		c.log.WarnContext(r.Context(), "twilio callback delivered again; not acted on", "callback", "voice")
		answer(VoiceReply("That key was taken already. Goodbye."))
		return
	}
	// The press acts once on its call (see pressOnce): one that landed
	// but was told as not recorded (the store wrote, then failed to
	// say so) is done when pressed again on the menu that followed.
	who := klaxon.Actor{By: u.ID, How: "voice", Once: pressOnce(form.Get("CallSid"), action)}
	got, err := c.o.Responder.Act(r.Context(), action, id, who)
	if errors.Is(err, klaxon.ErrUsed) && who.Once != "" {
		answer(VoiceReply(fmt.Sprintf("Incident %s %s. Goodbye.", id, strings.ToLower(action.Done()))))
		return
	}
	if err != nil && status(err) >= http.StatusInternalServerError {
		again(err)
		return
	}
	if err != nil {
		answer(VoiceReply(fmt.Sprintf("Incident %s was not changed: %s. Goodbye.", id, c.actFailure(u.ID, id, err))))
		return
	}
	if action == klaxon.ActionAck && got.AckedBy != u.ID {
		// Acknowledged by someone else, since the call was placed or a
		// moment before: her key changed nothing, and must not sound as
		// if it had. (Under an ack_timeout, it acknowledged it again, for
		// her, as any acknowledgement does.)
		answer(VoiceReply(ackedAlready(id, got.AckedBy, u.ID)))
		return
	}
	answer(VoiceReply(fmt.Sprintf("Incident %s %s. Goodbye.", got.ID, strings.ToLower(action.Done()))))
}

// pressOnce names, for klaxon.Actor.Once, the act of key a pressed on
// call callSid: the same on every menu of the call and in Twilio's
// every post of it, so that a press Klaxon told as not recorded, which
// may have landed, does not act again when pressed again; another call
// is another name, so that a key pressed on a later call acts again. ""
// (no once) for a callback that names no call.
func pressOnce(callSid string, a klaxon.Action) string {
	callSid = strings.TrimSpace(callSid)
	if callSid == "" {
		return ""
	}
	if len(callSid) > maxCallSid {
		callSid = callSid[:maxCallSid]
	}
	return klaxon.OnceRetry + "voice:" + callSid + ":" + string(a)
}

// maxCallSid bounds the CallSid kept in an incident's Once: Twilio's
// are 34 characters.
const maxCallSid = 64

// ackedAlready tells user that incident id is acknowledged already, by
// by, and that their key did nothing.
func ackedAlready(id, by, user string) string {
	if by == user {
		by = "you"
	}
	text := "Incident " + id + " is acknowledged already"
	if by != "" {
		text += ", by " + by
	}
	return text + ". Nothing was done. Goodbye."
}

// pagedByVoice reports whether notification n of inc is a voice call to
// user: sent, or in the outbox while it goes out (a quick key press can
// come before the page is recorded).
func pagedByVoice(inc *klaxon.Incident, n int, user string) bool {
	for _, sent := range inc.Sent {
		if sent.Notification == n {
			return sent.User == user && sent.Via == klaxon.ViaVoice
		}
	}
	for _, p := range inc.Pending {
		if p.ID == n {
			return p.User == user && p.Via == klaxon.ViaVoice
		}
	}
	return false
}

// earlierPresses names, as signedKey does, the presses of the menu's
// keys on the tries before this one of callback r, a key press on the
// tries+1st menu of its call: the same form, with each key, on each
// earlier Gather URL.
func earlierPresses(r *http.Request, publicURL, id string, n, tries int) []string {
	form := maps.Clone(r.PostForm)
	var keys []string
	for try := range tries {
		u := gatherTryURL(publicURL, id, n, try)
		for _, d := range []string{"1", "2", "3"} {
			form["Digits"] = []string{d}
			keys = append(keys, "voice:"+signedKeyOf(u, form))
		}
	}
	return keys
}

// failedTries is how many key presses of the call of callback r Klaxon
// could not record: try=N in its URL follows N-1 of them.
func failedTries(r *http.Request) int {
	try, err := strconv.Atoi(r.URL.Query().Get("try"))
	if err != nil {
		return 0
	}
	return max(try-1, 0)
}

// spokenKey is a key as a call says it.
func spokenKey(d string) string {
	switch d {
	case "#":
		return "Pound"
	case "*":
		return "Star"
	}
	if len(d) == 1 && '0' <= d[0] && d[0] <= '9' {
		return d
	}
	return "That key"
}
