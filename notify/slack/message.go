package slack

import (
	"fmt"
	"strings"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/webhook"
)

// Action IDs of the buttons of an incident's message; a button's value is
// the incident's ID.
const (
	ActionAck      = "klaxon_ack"
	ActionResolve  = "klaxon_resolve"
	ActionEscalate = "klaxon_escalate"
)

// actionsBlock is the block ID of the buttons.
const actionsBlock = "klaxon_actions"

// actions maps a button's action ID to what it asks.
var actions = map[string]klaxon.Action{
	ActionAck:      klaxon.ActionAck,
	ActionResolve:  klaxon.ActionResolve,
	ActionEscalate: klaxon.ActionEscalate,
}

// Slack limits a text object to 3000 characters, a section's field to
// 2000, and a button's label to 75; the parts of a message get at most
// these many, once escaped.
const (
	maxText    = 3000
	maxSummary = 2000
	maxName    = 200
	maxList    = 1000
)

// clip escapes s for Slack's mrkdwn (&, < and >) and cuts it to at most
// limit characters.
func clip(s string, limit int) string { return webhook.SlackClip(s, limit) }

// cut shortens s, escaped already, to at most limit characters, ending
// in "…" when cut, and never inside an escape.
func cut(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	n := 0
	for i := range s {
		if n == limit-1 {
			s = s[:i]
			break
		}
		n++
	}
	if amp := strings.LastIndexByte(s, '&'); amp >= 0 && !strings.Contains(s[amp:], ";") {
		s = s[:amp]
	}
	return s + "…"
}

// IncidentMessage is the message of inc in a channel: text, which
// notifications and screen readers show, and Block Kit blocks. The blocks
// are a section with the incident's severity, summary, and a link to its
// page under publicURL; fields with its state, urgency, alerts firing of
// the total, who is being paged (paged, user IDs or names) and its
// assignee; the policy and service; and while the incident is open, the
// buttons Acknowledge (while triggered), Resolve and Escalate, whose
// value is inc.ID (Escalate's followed by where the walk is). Text from the incident is escaped and cut to Slack's
// limits.
func IncidentMessage(inc *klaxon.Incident, paged []string, publicURL string) (text string, blocks []slackapi.Block) {
	head := headline(inc.ID, inc.Severity)
	summary := clip(inc.Summary, maxSummary)
	title := "*" + head + "*"
	link := klaxon.IncidentURL(publicURL, inc.ID)
	if link != "" {
		title = "*<" + webhook.SlackEscape(link) + "|" + head + ">*"
	}
	fields := []*slackapi.TextBlockObject{
		mrkdwn("*State*\n" + stateText(inc)),
		mrkdwn("*Urgency*\n" + orDash(clip(string(inc.Urgency), maxName))),
		mrkdwn(fmt.Sprintf("*Alerts*\n%d firing of %d", inc.FiringCount, inc.AlertCount)),
		mrkdwn("*Paging*\n" + orDash(clip(strings.Join(paged, ", "), maxList))),
	}
	if inc.Assignee != "" {
		fields = append(fields, mrkdwn("*Assignee*\n"+clip(inc.Assignee, maxName)))
	}
	if inc.Commander != "" {
		fields = append(fields, mrkdwn("*Commander*\n"+clip(inc.Commander, maxName)))
	}
	blocks = []slackapi.Block{
		slackapi.NewSectionBlock(mrkdwn(stateEmoji(inc.State)+" "+title+" "+summary), fields, nil),
	}
	var about []string
	if link != "" {
		about = append(about, "<"+webhook.SlackEscape(link)+"|Incident #"+clip(inc.ID, maxName)+"> in Klaxon")
	}
	if svc := inc.Labels["service"]; svc != "" {
		about = append(about, "service "+clip(svc, maxName))
	}
	if inc.Policy.Name != "" {
		about = append(about, "policy "+clip(inc.Policy.Name, maxName))
	}
	if len(about) > 0 {
		blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn(strings.Join(about, " · "))))
	}
	if inc.State.Open() {
		blocks = append(blocks, buttons(inc.ID, walkAt(inc), inc.State == klaxon.StateTriggered))
	}
	text = head + " " + summary + ": " + strings.ToLower(stateText(inc))
	return cut(text, maxText), blocks
}

// headline is "#42 CRITICAL", escaped and cut.
func headline(id, severity string) string {
	head := id
	if severity != "" {
		head += " " + strings.ToUpper(severity)
	}
	return "#" + clip(head, maxName)
}

// stateText is "Triggered", "Acknowledged by alice", "Resolved by bob",
// escaped.
func stateText(inc *klaxon.Incident) string {
	switch inc.State {
	case klaxon.StateTriggered:
		return "Triggered"
	case klaxon.StateAcknowledged:
		if inc.AckedBy != "" {
			return "Acknowledged by " + clip(inc.AckedBy, maxName)
		}
		return "Acknowledged"
	case klaxon.StateResolved:
		if inc.ResolvedBy != "" {
			return "Resolved by " + clip(inc.ResolvedBy, maxName)
		}
		return "Resolved"
	}
	return clip(string(inc.State), maxName)
}

func stateEmoji(s klaxon.State) string {
	switch s {
	case klaxon.StateTriggered:
		return ":rotating_light:"
	case klaxon.StateAcknowledged:
		return ":eyes:"
	case klaxon.StateResolved:
		return ":white_check_mark:"
	}
	return ":grey_question:"
}

// buttons is the actions block of incident id: Acknowledge (when ack is
// set), Resolve, Escalate. Escalate's value is id, "@" and at, where the
// incident was when the message was drawn (see press).
func buttons(id, at string, ack bool) *slackapi.ActionBlock {
	var elems []slackapi.BlockElement
	if ack {
		elems = append(elems, slackapi.NewButtonBlockElement(ActionAck, id, plain("Acknowledge")).WithStyle(slackapi.StylePrimary))
	}
	elems = append(elems,
		slackapi.NewButtonBlockElement(ActionResolve, id, plain("Resolve")),
		slackapi.NewButtonBlockElement(ActionEscalate, id+"@"+at, plain("Escalate")).WithStyle(slackapi.StyleDanger))
	return slackapi.NewActionBlock(actionsBlock, elems...)
}

// walkAt is where inc's walk is, for its channel message's Escalate
// button: its round, its step and the number of its last page. An
// escalation moves it, and the message, updated, carries the new one.
func walkAt(inc *klaxon.Incident) string {
	return fmt.Sprintf("%d.%d.%d", inc.Escalation.Round, inc.Escalation.Step, inc.Seq)
}

func mrkdwn(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, false)
}

func plain(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, false, false)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// EventText says what a timeline entry records, in one line for a thread
// reply: "acknowledged by alice via slack", "note by alice: rolling
// back". It is plain text; Reply escapes it.
func EventText(e klaxon.Event) string {
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(string(e.Kind), "_", " "))
	if e.Alert != "" {
		b.WriteString(" " + e.Alert)
	}
	if e.User != "" {
		b.WriteString(" to " + e.User)
	}
	if e.Via != "" {
		b.WriteString(" by " + e.Via)
	}
	if e.Step != nil && *e.Step >= 0 {
		fmt.Fprintf(&b, " (step %d)", *e.Step+1)
	}
	if e.By != "" {
		b.WriteString(" by " + e.By)
	}
	if e.How != "" {
		b.WriteString(" via " + e.How)
	}
	if e.Text != "" {
		b.WriteString(": " + e.Text)
	}
	return b.String()
}
