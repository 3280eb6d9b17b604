package email

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"html/template"
	"net/mail"
	"strconv"
	"strings"
	texttemplate "text/template"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"github.com/klaxonhq/klaxon"
)

// Subject is the subject of the mail for p:
//
//	[Klaxon #42] CRITICAL 5xx ratio above 5% on payments
func Subject(p klaxon.Page) string {
	s := "[Klaxon #" + oneLine(p.Incident) + "] "
	if sev := oneLine(p.Severity); sev != "" {
		// A label, which may be as long as ingest lets one be: the
		// summary, which says what is wrong, keeps its room.
		s += strings.ToUpper(cut(sev, maxSeverity)) + " "
	}
	return s + cut(oneLine(p.Summary), maxSubject-utf8.RuneCountInString(s))
}

// maxSubject is the most characters of a subject: a phone shows a line
// or two of it, and the body has the summary whole.
const maxSubject = 150

// maxSeverity is the most characters of the severity in a subject.
const maxSeverity = 24

// cut shortens s to at most n characters, at the last space before the
// cut when there is one, with an ellipsis.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:max(n-1, 0)]
	if i := strings.LastIndexByte(string(r), ' '); i > 0 {
		return string(r)[:i] + "…"
	}
	return string(r) + "…"
}

// oneLine collapses runs of white space, line breaks included, to one
// space, so that text is safe in a header.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// page is what the mail bodies show.
type page struct {
	Incident string
	Summary  string
	Severity string
	Firing   int
	Ack      string
	Resolve  string
	Expires  string
	// View is the incident's page in the web console.
	View string
}

// message builds the mail of p to to, with fresh links, whose
// Message-ID is id (messageID).
func (e *Email) message(p klaxon.Page, to *mail.Address, id string) (*gomail.Msg, error) {
	l := e.o.Links
	if p.Test {
		m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
		m.FromMailAddress(e.from)
		m.ToMailAddress(to)
		m.Subject("Klaxon test page")
		m.SetDateWithValue(l.now())
		m.SetMessageIDWithValue(id)
		m.SetGenHeader("Auto-Submitted", "auto-generated")
		m.SetBodyString(gomail.TypeTextPlain, klaxon.TestText(klaxon.ViaEmail)+"\n-- \nKlaxon\n")
		return m, nil
	}
	if p.Update != "" {
		m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
		m.FromMailAddress(e.from)
		m.ToMailAddress(to)
		// The incident's subject, as a reply's: its first line says what
		// changed (see thread).
		subject := Subject(p)
		if p.Update != "opened" {
			subject = "Re: " + subject
		}
		m.Subject(subject)
		m.SetDateWithValue(l.now())
		e.thread(m, p, id)
		m.SetGenHeader("Auto-Submitted", "auto-generated")
		m.SetGenHeader("X-Klaxon-Incident", p.Incident)
		m.SetGenHeader("X-Klaxon-Update", oneLine(p.Update))
		body := p.Text + "\n"
		if u := klaxon.IncidentURL(e.o.PublicURL, p.Incident); u != "" {
			body += "\n" + u + "\n"
		}
		m.SetBodyString(gomail.TypeTextPlain, body+"\nYou are subscribed to updates of this incident; nothing is asked of you.\n-- \nKlaxon\n")
		return m, nil
	}
	v := page{
		Incident: p.Incident,
		Summary:  oneLine(p.Summary),
		Severity: oneLine(p.Severity),
		Firing:   p.Alerts,
		Ack:      e.o.PublicURL + AckPath + l.Sign(p.Incident, p.Notification, p.User.ID, ActionAck),
		Resolve:  e.o.PublicURL + AckPath + l.Sign(p.Incident, p.Notification, p.User.ID, ActionResolve),
		Expires:  l.now().Add(l.ttl).UTC().Format("2006-01-02 15:04 MST"),
		View:     klaxon.IncidentURL(e.o.PublicURL, p.Incident),
	}
	var text, html bytes.Buffer
	if err := textBody.Execute(&text, v); err != nil {
		return nil, fmt.Errorf("render text body: %w", err)
	}
	if err := htmlBody.Execute(&html, v); err != nil {
		return nil, fmt.Errorf("render html body: %w", err)
	}
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	m.FromMailAddress(e.from)
	m.ToMailAddress(to)
	m.Subject(Subject(p))
	m.SetDateWithValue(l.now())
	e.thread(m, p, id)
	m.SetImportance(gomail.ImportanceHigh)
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetGenHeader("X-Klaxon-Incident", p.Incident)
	m.SetBodyString(gomail.TypeTextPlain, text.String())
	m.AddAlternativeString(gomail.TypeTextHTML, html.String())
	return m, nil
}

// thread makes m one of the mails of incident, which mail apps show as
// one conversation: GitHub's notifications of an issue do the same.
// Gmail threads mails of the same subject (a "Re: " aside) whose
// References name the same Message-ID, here one that stands for the
// incident and that no mail has; Outlook threads by the subject. So every
// mail of an incident, page or status update, has its subject, and the
// state goes on the first line of the body, which phones show under it.
// The IDs are under the host of public_url, so that two Klaxons (staging
// and production) that number their incidents alike do not share threads,
// and name when the incident opened, so that a store that was reset, and
// numbers incidents from 1 again, does not thread a new #42 with an old
// one in the mail apps that thread by References alone.
func (e *Email) thread(m *gomail.Msg, p klaxon.Page, id string) {
	m.SetMessageIDWithValue(id)
	root := "<" + threadID(p) + "@" + e.host + ">"
	m.SetGenHeader(gomail.HeaderInReplyTo, root)
	m.SetGenHeader(gomail.HeaderReferences, root)
}

// messageID is the Message-ID of the mail of p, without its brackets,
// which every try of it has: a relay that took the mail and then went
// away, or answered 4xx all the same, may deliver it, and the mail tried
// again too; mail servers and apps that keep one message of a Message-ID
// (Gmail among them) then show the page once. Send makes it once for its
// tries, and the page's is the same in every Send of it, as the engine
// tries it again: it is of the page, the incident's notification to the
// person. But for a page that does not say when its incident opened: a
// store that was reset numbers incidents and their notifications from 1
// again, and a page whose Message-ID was an old one's would be dropped.
// Its ID, and a status update's or a test page's, is new in each Send.
func (e *Email) messageID(p klaxon.Page) string {
	switch {
	case p.Test:
		return "klaxon.test." + strings.ToLower(rand.Text()) + "@" + e.host
	case p.Update == "" && !p.Opened.IsZero():
		return threadID(p) + ".page." + strconv.Itoa(p.Notification) + "." + msgIDPart(p.User.ID) + "@" + e.host
	}
	return threadID(p) + "." + strings.ToLower(rand.Text()) + "@" + e.host
}

// threadID is the left part of the Message-ID that stands for p's
// incident: its number and, when the page says, the second it opened (in
// seconds: a time read back from a store may have lost the rest).
func threadID(p klaxon.Page) string {
	id := "klaxon.incident." + msgIDPart(p.Incident)
	if !p.Opened.IsZero() {
		id += "." + p.Opened.UTC().Format("20060102T150405Z")
	}
	return id
}

// msgIDPart is s as it may stand in the left part of a Message-ID
// (RFC 5322 dot-atom-text): letters, digits and "-" as they are, any
// other byte as "=" and its hex value.
func msgIDPart(s string) string {
	var b strings.Builder
	for i := range len(s) {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String()
}

var (
	textBody = texttemplate.Must(texttemplate.New("text").Parse(strings.TrimLeft(`
{{.Summary}}

Incident:  #{{.Incident}}
{{- if .Severity}}
Severity:  {{.Severity}}{{end}}
Firing:    {{.Firing}} {{if eq .Firing 1}}alert{{else}}alerts{{end}}

Acknowledge: {{.Ack}}
Resolve:     {{.Resolve}}
Open:        {{.View}}

Each link asks you to confirm. They work until {{.Expires}}.
-- 
Klaxon
`, "\n")))

	htmlBody = template.Must(template.New("html").Parse(`<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<h2>{{.Summary}}</h2>
<table>
<tr><td>Incident</td><td>#{{.Incident}}</td></tr>
{{- if .Severity}}
<tr><td>Severity</td><td>{{.Severity}}</td></tr>{{end}}
<tr><td>Firing</td><td>{{.Firing}} {{if eq .Firing 1}}alert{{else}}alerts{{end}}</td></tr>
</table>
<p><a href="{{.Ack}}">Acknowledge</a> &middot; <a href="{{.Resolve}}">Resolve</a> &middot; <a href="{{.View}}">Open in Klaxon</a></p>
<p style="color: #666">Each link asks you to confirm. They work until {{.Expires}}.</p>
</body></html>
`))
)

// msgIDHost is host as the right part of a Message-ID: a name as it is,
// an IPv6 address in brackets (RFC 5322 domain-literal).
func msgIDHost(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}
