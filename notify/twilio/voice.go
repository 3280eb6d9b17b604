package twilio

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	api "github.com/twilio/twilio-go/rest/api/v2010"
	"github.com/twilio/twilio-go/twiml"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
)

// voiceChannel pages by phone call.
type voiceChannel struct{ t *Twilio }

var _ notify.Channel = voiceChannel{}

// Send calls p.User.Phone. When the call is answered, Twilio fetches the
// TwiML to play from VoiceURL; it reports the end of the call to the
// status URL.
func (c voiceChannel) Send(ctx context.Context, p klaxon.Page) error {
	if p.User.Phone == "" {
		return klaxon.Invalid("phone", "user %s has no phone number", p.User.ID)
	}
	params := &api.CreateCallParams{}
	params.SetTo(p.User.Phone).SetFrom(c.t.from)
	if p.Test {
		// A test call says so and hangs up: no callback, no menu.
		tw, err := VoiceReply(klaxon.TestText(klaxon.ViaVoice) + " Goodbye.")
		if err != nil {
			return err
		}
		params.SetTwiml(tw)
	} else {
		params.SetUrl(VoiceURL(c.t.publicURL, p.Incident, p.Notification)).
			SetTimeout(int(callRing / time.Second)).
			SetTimeLimit(int(callTimeLimit / time.Second)).
			// Detection waits for a voicemail's greeting to end (its
			// beep, or silence), so that the short message a machine
			// gets is recorded whole, not spoken over the greeting; a
			// person is told apart as soon as with Enable.
			SetMachineDetection("DetectMessageEnd").
			SetStatusCallback(StatusURL(c.t.publicURL, p.Incident, p.Notification)).
			SetStatusCallbackEvent([]string{"completed"})
	}
	// Placed once: a call Twilio may have placed though the request
	// failed (a timeout, a 5xx) is not asked for again, which would ring
	// over it. The error says so (Error.MaybeSent), so that the person
	// is taken to be on it (notify.ThrottleOptions.Calls).
	err := c.t.doOnce(ctx, func(s *api.ApiService) error {
		call, err := s.CreateCall(params)
		if err == nil && call.Sid != nil {
			providerID(ctx, *call.Sid)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("call %s: %w", MaskPhone(p.User.Phone), err)
	}
	return nil
}

// A page call rings for callRing at most (Twilio's Timeout, to which
// Twilio may add ringBuffer), and once answered lasts callTimeLimit at
// most (TimeLimit, 4 hours by default): it reads the incident twice with
// its menu, well within. Before it rings it may wait up to about
// callQueue in Twilio's queue (calls beyond the account's calls per
// second, one by default, wait there in a storm). MaxCall, their sum, is
// the longest a page call lasts from its placing: the most a person is
// taken to be on a call whose end is not reported to this replica
// (notify.ThrottleOptions.CallCap).
const (
	callRing      = time.Minute
	ringBuffer    = 5 * time.Second
	callQueue     = 55 * time.Second
	callTimeLimit = 4 * time.Minute
	MaxCall       = callQueue + callRing + ringBuffer + callTimeLimit
)

// VoiceURL is where Twilio fetches the TwiML for the call of notification
// n of an incident: PublicURL + "/v1/twilio/voice?incident=42&n=3".
func VoiceURL(publicURL, incident string, n int) string {
	return callbackURL(publicURL, VoicePath, incident, n)
}

// GatherURL is where Twilio posts the key pressed during that call:
// VoiceURL with step=gather.
func GatherURL(publicURL, incident string, n int) string {
	return callbackURL(publicURL, VoicePath, incident, n, "step", "gather")
}

// gatherTryURL is GatherURL for a key pressed again after try presses
// Klaxon could not record: with try=2 after one.
func gatherTryURL(publicURL, incident string, n, try int) string {
	if try <= 0 {
		return GatherURL(publicURL, incident, n)
	}
	return callbackURL(publicURL, VoicePath, incident, n, "step", "gather", "try", strconv.Itoa(try+1))
}

// VoicePrompt is what a page call says.
type VoicePrompt struct {
	// PublicURL is Klaxon's base URL as Twilio reaches it.
	PublicURL    string
	Incident     string
	Notification int
	Summary      string
	Severity     string
	// Alerts is how many alerts of the incident are firing.
	Alerts int
	// Note is said first, before the incident: what became of the key
	// pressed last ("9 is not a choice.").
	Note string
	// Acked is set when the incident was acknowledged since the call
	// was placed, AckedBy by whom: the call says so, and offers no key
	// to acknowledge it.
	Acked   bool
	AckedBy string
	// Try counts the presses Klaxon could not record on this call: the
	// Gather's URL carries it, so that the same key pressed again is
	// another signed request, not a replay of the one that failed.
	Try int
}

// The menu a page call offers; ParseDigit reads the answer.
const voiceMenu = "Press 1 to acknowledge, 2 to resolve, 3 to escalate, star to repeat."

// ackedMenu is the menu of a call about an incident acknowledged already.
const ackedMenu = "Press 2 to resolve, 3 to escalate, star to repeat."

// VoiceTwiML is the TwiML that a page call plays when answered: it says
// the incident and the menu while it gathers one key press for
// ParseDigit, posted to GatherURL. Twilio takes a key only during a
// Gather, so the incident is said inside it: a responder who knows the
// menu need not wait for it. Without a key press it says it all once
// more, then goodbye, and hangs up.
func VoiceTwiML(p VoicePrompt) (string, error) {
	menu := voiceMenu
	if p.Acked {
		menu = ackedMenu
	}
	gather := func(first string) twiml.VoiceGather {
		return twiml.VoiceGather{
			Action:    gatherTryURL(p.PublicURL, p.Incident, p.Notification, p.Try),
			Method:    "POST",
			NumDigits: "1",
			Timeout:   "10",
			InnerElements: []twiml.Element{
				twiml.VoiceSay{Message: strings.TrimSpace(first + " " + spokenPage(p))},
				twiml.VoiceSay{Message: menu},
			},
		}
	}
	return render([]twiml.Element{
		gather(p.Note),
		gather("Again."),
		twiml.VoiceSay{Message: "No key was pressed. Goodbye."},
		twiml.VoiceHangup{},
	})
}

// VoiceReply is the TwiML that answers a key press: it says text and
// hangs up.
func VoiceReply(text string) (string, error) {
	return render([]twiml.Element{
		twiml.VoiceSay{Message: text},
		twiml.VoiceHangup{},
	})
}

// maxSpoken is how much of a summary a call says. A summary is free
// text of up to 16 KiB (a stack trace); Twilio refuses a <Say> of more
// than 4,096 characters, and a person listens to a few sentences.
const maxSpoken = 500

// spokenSummary is summary as a call says it: trimmed, and cut to
// maxSpoken characters at a word where it can.
func spokenSummary(summary string) string {
	s := strings.TrimSpace(summary)
	if utf8.RuneCountInString(s) <= maxSpoken {
		return s
	}
	runes := []rune(s)[:maxSpoken]
	if i := strings.LastIndexByte(string(runes), ' '); i > maxSpoken/2 {
		return string(runes)[:i] + ", and more"
	}
	return string(runes) + ", and more"
}

func spokenPage(p VoicePrompt) string {
	var b strings.Builder
	b.WriteString("This is Klaxon. Incident ")
	b.WriteString(p.Incident)
	if p.Severity != "" {
		b.WriteString(", ")
		b.WriteString(p.Severity)
	}
	if summary := strings.TrimRight(spokenSummary(p.Summary), "."); summary != "" {
		b.WriteString(": ")
		b.WriteString(summary)
	}
	b.WriteString(".")
	switch {
	case p.Alerts == 1:
		b.WriteString(" 1 alert firing.")
	case p.Alerts > 1:
		fmt.Fprintf(&b, " %d alerts firing.", p.Alerts)
	}
	if p.Acked {
		b.WriteString(" " + ackedText(p.AckedBy))
	}
	return b.String()
}

// render writes verbs as a TwiML document. twiml writes attributes in map
// order; render sorts them, so that the same verbs give the same bytes.
func render(verbs []twiml.Element) (string, error) {
	doc, response := twiml.CreateDocument()
	twiml.AddAllVerbs(response, verbs)
	for _, g := range response.SelectElements("Gather") {
		// No key ends a Gather but its numDigits: Twilio's default, #,
		// is left out of Digits, so a # would be no key at all (and
		// twiml writes no attribute that is empty).
		g.CreateAttr("finishOnKey", "")
	}
	sortAttrs(response)
	out, err := twiml.ToXML(doc)
	if err != nil {
		return "", fmt.Errorf("render twiml: %w", err)
	}
	return out, nil
}

func sortAttrs(e *etree.Element) {
	e.SortAttrs()
	for _, c := range e.ChildElements() {
		sortAttrs(c)
	}
}

// ParseDigit reads the key pressed on a page call: 1 acknowledges, 2
// resolves, 3 escalates. Any other key (* asks for it) repeats the
// message: ok is false.
func ParseDigit(d string) (a klaxon.Action, ok bool) {
	switch strings.TrimSpace(d) {
	case "1":
		return klaxon.ActionAck, true
	case "2":
		return klaxon.ActionResolve, true
	case "3":
		return klaxon.ActionEscalate, true
	}
	return "", false
}

// ackedText tells that an incident is acknowledged, by whom when known.
func ackedText(by string) string {
	if by == "" {
		return "It was acknowledged meanwhile."
	}
	return "It was acknowledged by " + by + "."
}
