package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// Payload is the body of a page in the JSON format.
type Payload struct {
	// Type is "page", "test" for a test page (klaxon test-page), which
	// is of no incident, or "update" for a subscriber's status update.
	Type string `json:"type"`
	// Update is what a status update says happened: opened,
	// acknowledged, update, resolved.
	Update       string `json:"update,omitempty"`
	Incident     string `json:"incident"`
	Notification int    `json:"notification"`
	// User is the ID of the user paged.
	User     string `json:"user"`
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	// Alerts counts the incident's firing alerts.
	Alerts int    `json:"alerts"`
	Text   string `json:"text"`
	// URL is the incident's page in Klaxon's web console; empty without
	// a PublicURL.
	URL string `json:"url,omitempty"`
	// SentAt is when the attempt that carried the page began, in whole
	// seconds: the X-Klaxon-Timestamp of a signed page.
	SentAt time.Time `json:"sent_at"`
}

// NewPayload is the JSON payload of p, sent at now, with the incident URL
// under publicURL.
func NewPayload(p klaxon.Page, publicURL string, now time.Time) Payload {
	if p.Test {
		return Payload{Type: "test", User: p.User.ID, Summary: p.Summary, Text: p.Text, SentAt: now.UTC().Truncate(time.Second)}
	}
	typ := "page"
	if p.Update != "" {
		typ = "update"
	}
	return Payload{
		Type:         typ,
		Update:       p.Update,
		Incident:     p.Incident,
		Notification: p.Notification,
		User:         p.User.ID,
		Severity:     p.Severity,
		Summary:      p.Summary,
		Alerts:       p.Alerts,
		Text:         p.Text,
		URL:          klaxon.IncidentURL(publicURL, p.Incident),
		SentAt:       now.UTC().Truncate(time.Second),
	}
}

// Slack limits a text object to 3000 characters: the parts of the page in
// the section get at most these many, once escaped.
const (
	maxSlackSummary = 2000
	maxSlackName    = 200
)

// SlackMessage is the body of a Slack incoming webhook: a notification
// text, and Block Kit blocks that show instead of it.
type SlackMessage struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is a Block Kit section (with Text) or context (with Elements)
// block.
type SlackBlock struct {
	Type     string      `json:"type"`
	Text     *SlackText  `json:"text,omitempty"`
	Elements []SlackText `json:"elements,omitempty"`
}

// SlackText is a Block Kit text object.
type SlackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// NewSlackMessage is the Slack message for p: a section with
// "*#42 CRITICAL* 5xx ratio above 5% on payments (2 firing)" and the user
// paged, then a context block linking to the incident when publicURL is
// set. Text from the page is escaped as Slack's mrkdwn requires.
func NewSlackMessage(p klaxon.Page, publicURL string) SlackMessage {
	head := p.Incident
	if p.Severity != "" {
		head += " " + strings.ToUpper(p.Severity)
	}
	head = "#" + SlackClip(head, maxSlackName)
	line := SlackClip(p.Summary, maxSlackSummary)
	if p.Alerts > 0 {
		line += fmt.Sprintf(" (%d firing)", p.Alerts)
	}
	user := p.User.ID
	if p.User.Name != "" && p.User.Name != p.User.ID {
		user = p.User.Name + " (" + p.User.ID + ")"
	}
	msg := SlackMessage{
		Text: head + " " + line,
		Blocks: []SlackBlock{{
			Type: "section",
			Text: &SlackText{Type: "mrkdwn", Text: "*" + head + "* " + line + "\nPaging " + SlackClip(user, maxSlackName)},
		}},
	}
	if u := klaxon.IncidentURL(publicURL, p.Incident); u != "" {
		msg.Blocks = append(msg.Blocks, SlackBlock{
			Type:     "context",
			Elements: []SlackText{{Type: "mrkdwn", Text: "<" + SlackEscape(u) + "|Incident #" + SlackClip(p.Incident, maxSlackName) + "> in Klaxon"}},
		})
	}
	return msg
}

// SlackClip escapes s with SlackEscape and cuts it, between characters and
// escapes, to at most limit characters, ending in "…" when cut.
func SlackClip(s string, limit int) string {
	e := SlackEscape(s)
	if utf8.RuneCountInString(e) <= limit {
		return e
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		piece := SlackEscape(string(r))
		k := utf8.RuneCountInString(piece)
		if n+k > limit-1 {
			break
		}
		b.WriteString(piece)
		n += k
	}
	return b.String() + "…"
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// SlackEscape escapes the three characters Slack's mrkdwn gives meaning:
// &, < and >.
func SlackEscape(s string) string { return slackEscaper.Replace(s) }

// body encodes the page p for the format f, sent at now.
func body(f string, p klaxon.Page, publicURL string, now time.Time) ([]byte, error) {
	var v any = NewPayload(p, publicURL, now)
	if f == FormatSlack {
		v = NewSlackMessage(p, publicURL)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", f, err)
	}
	return b, nil
}
