package twilio

import (
	"regexp"
	"strings"

	"github.com/twilio/twilio-go/twiml"

	"github.com/klaxonhq/klaxon"
)

// Keyword is what one of Twilio's reserved SMS keywords does. Twilio
// acts on them itself (it blocks the number after STOP), and Klaxon
// records them.
type Keyword string

// Keywords.
const (
	KeywordStop  Keyword = "stop"
	KeywordStart Keyword = "start"
	KeywordHelp  Keyword = "help"
)

// Reply is an SMS reply to a page: an action, or a reserved keyword.
type Reply struct {
	// Incident is the incident the reply names; "" for the latest page
	// to the replying number.
	Incident string
	// Action is what the reply asks; "" for a keyword.
	Action klaxon.Action
	// All is set by "AA": acknowledge every open incident paged to the
	// replying number.
	All bool
	// Keyword is set, and Action is not, for a reserved keyword; Word is
	// the keyword as sent (STOP, UNSUBSCRIBE, ...).
	Keyword Keyword
	Word    string
	// Note is the text of a note ("42N text"): Action is "" then.
	Note string
}

// ReplyHelp lists the replies ParseReply accepts, in one SMS segment.
const ReplyHelp = "Reply 42A to ack incident 42, 42R to resolve, 42E to escalate, 42N text to note; A, R or E for the latest page; AA to ack all."

// Twilio's reserved keywords, matched on the whole message.
var keywords = map[string]Keyword{
	"STOP": KeywordStop, "STOPALL": KeywordStop, "STOP ALL": KeywordStop, "UNSUBSCRIBE": KeywordStop,
	"CANCEL": KeywordStop, "END": KeywordStop, "QUIT": KeywordStop,
	"START": KeywordStart, "YES": KeywordStart, "UNSTOP": KeywordStart,
	"HELP": KeywordHelp, "INFO": KeywordHelp,
}

// Reply codes: a letter, or a word for people who type it out.
var codes = map[string]klaxon.Action{
	"A": klaxon.ActionAck, "ACK": klaxon.ActionAck,
	"R": klaxon.ActionResolve, "RES": klaxon.ActionResolve, "RESOLVE": klaxon.ActionResolve,
	"E": klaxon.ActionEscalate, "ESC": klaxon.ActionEscalate, "ESCALATE": klaxon.ActionEscalate,
}

// noteReply is a note: "42N the disk is full", "#42 n text", or "N text"
// for the latest page.
var noteReply = regexp.MustCompile(`(?is)^\s*#?\s*([0-9]*)\s*N\s+(\S.*)$`)

// maxIncidentDigits bounds the incident number in a reply.
const maxIncidentDigits = 20

// ParseReply reads an SMS reply, ignoring case, spaces and a leading "#":
// "42A" acknowledges incident 42, "42R" resolves it, "42E" escalates it
// ("42 ack" works too), "42N text" notes text on it; "A", "R", "E" and
// "N text" act on the latest page to the number; "AA" acknowledges all its incidents. Twilio's reserved keywords
// (STOP, START, UNSTOP, HELP, ...) give KeywordStop, KeywordStart and
// KeywordHelp. Anything else is an error matching klaxon.ErrInvalid whose
// text lists the accepted forms.
func ParseReply(body string) (Reply, error) {
	if m := noteReply.FindStringSubmatch(body); m != nil && len(m[1]) <= maxIncidentDigits {
		id := strings.TrimLeft(m[1], "0")
		if id == "" && m[1] != "" {
			id = "0"
		}
		return Reply{Incident: id, Note: strings.TrimSpace(m[2])}, nil
	}
	fields := strings.Fields(strings.ToUpper(strings.Trim(strings.TrimSpace(body), ".!")))
	if kw := strings.Join(fields, " "); keywords[kw] != "" {
		return Reply{Keyword: keywords[kw], Word: kw}, nil
	}
	compact := strings.TrimPrefix(strings.Join(fields, ""), "#")
	if compact == "AA" {
		return Reply{Action: klaxon.ActionAck, All: true}, nil
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
