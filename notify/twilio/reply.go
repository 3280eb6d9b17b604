package twilio

import (
	"strings"

	"github.com/twilio/twilio-go/twiml"

	"github.com/klaxonhq/klaxon"
)

// Action is what a responder asks for by SMS reply or key press.
type Action string

// Actions. Stop, Start and Help are Twilio's reserved SMS keywords: Twilio
// acts on them itself (it blocks the number after STOP), and Klaxon
// records them.
const (
	ActionAck      Action = "ack"
	ActionResolve  Action = "resolve"
	ActionEscalate Action = "escalate"
	ActionRepeat   Action = "repeat"
	ActionStop     Action = "stop"
	ActionStart    Action = "start"
	ActionHelp     Action = "help"
)

// Reply is an SMS reply to a page.
type Reply struct {
	// Incident is the incident the reply names; "" for the latest page
	// to the replying number.
	Incident string
	Action   Action
	// All is set by "AA": acknowledge every open incident paged to the
	// replying number.
	All bool
	// Keyword is the reserved keyword as sent (STOP, UNSUBSCRIBE, ...)
	// for ActionStop, ActionStart and ActionHelp.
	Keyword string
}

// ReplyHelp lists the replies ParseReply accepts, in one SMS segment.
const ReplyHelp = "Reply 42A to ack incident 42, 42R to resolve, 42E to escalate; A, R or E for the latest page; AA to ack all."

// Twilio's reserved keywords, matched on the whole message.
var keywords = map[string]Action{
	"STOP": ActionStop, "STOPALL": ActionStop, "STOP ALL": ActionStop, "UNSUBSCRIBE": ActionStop,
	"CANCEL": ActionStop, "END": ActionStop, "QUIT": ActionStop,
	"START": ActionStart, "YES": ActionStart, "UNSTOP": ActionStart,
	"HELP": ActionHelp, "INFO": ActionHelp,
}

// Reply codes: a letter, or a word for people who type it out.
var codes = map[string]Action{
	"A": ActionAck, "ACK": ActionAck,
	"R": ActionResolve, "RES": ActionResolve, "RESOLVE": ActionResolve,
	"E": ActionEscalate, "ESC": ActionEscalate, "ESCALATE": ActionEscalate,
}

// maxIncidentDigits bounds the incident number in a reply.
const maxIncidentDigits = 20

// ParseReply reads an SMS reply, ignoring case, spaces and a leading "#":
// "42A" acknowledges incident 42, "42R" resolves it, "42E" escalates it
// ("42 ack" works too); "A", "R" and "E" act on the latest page to the
// number; "AA" acknowledges all its incidents. Twilio's reserved keywords
// (STOP, START, UNSTOP, HELP, ...) give ActionStop, ActionStart and
// ActionHelp. Anything else is an error matching klaxon.ErrInvalid whose
// text lists the accepted forms.
func ParseReply(body string) (Reply, error) {
	fields := strings.Fields(strings.ToUpper(strings.Trim(strings.TrimSpace(body), ".!")))
	if kw := strings.Join(fields, " "); keywords[kw] != "" {
		return Reply{Action: keywords[kw], Keyword: kw}, nil
	}
	compact := strings.TrimPrefix(strings.Join(fields, ""), "#")
	if compact == "AA" {
		return Reply{Action: ActionAck, All: true}, nil
	}
	digits := 0
	for digits < len(compact) && compact[digits] >= '0' && compact[digits] <= '9' {
		digits++
	}
	if a, ok := codes[compact[digits:]]; ok && digits <= maxIncidentDigits {
		id := strings.TrimLeft(compact[:digits], "0")
		if id == "" && digits > 0 {
			id = "0"
		}
		return Reply{Incident: id, Action: a}, nil
	}
	return Reply{}, klaxon.Invalid("Body", "unknown reply %q: %s", MaskPhones(clip(body, 20)), ReplyHelp)
}

// clip cuts s to at most n runes.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return truncateRunes(s, n) + "..."
}

// SMSReply is the TwiML that answers an incoming SMS with text, such as
// "Incident 42 acknowledged." or ReplyHelp; with no text, Twilio sends no
// answer.
func SMSReply(text string) (string, error) {
	var verbs []twiml.Element
	if text != "" {
		verbs = append(verbs, twiml.MessagingMessage{Body: text})
	}
	return render(verbs)
}
