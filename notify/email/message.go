package email

import (
	"bytes"
	"fmt"
	"html/template"
	"net/mail"
	"strings"
	texttemplate "text/template"

	gomail "github.com/wneessen/go-mail"

	"github.com/klaxonhq/klaxon"
)

// Subject is the subject of the mail for p:
//
//	[Klaxon #42] CRITICAL 5xx ratio above 5% on payments
func Subject(p klaxon.Page) string {
	s := "[Klaxon #" + oneLine(p.Incident) + "] "
	if sev := oneLine(p.Severity); sev != "" {
		s += strings.ToUpper(sev) + " "
	}
	return s + oneLine(p.Summary)
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

// message builds the mail of p to to, with fresh links.
func (e *Email) message(p klaxon.Page, to *mail.Address) (*gomail.Msg, error) {
	l := e.o.Links
	if p.Test {
		m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
		m.FromMailAddress(e.from)
		m.ToMailAddress(to)
		m.Subject("Klaxon test page")
		m.SetDateWithValue(l.now())
		m.SetMessageID()
		m.SetGenHeader("Auto-Submitted", "auto-generated")
		m.SetBodyString(gomail.TypeTextPlain, klaxon.TestText(klaxon.ViaEmail)+"\n-- \nKlaxon\n")
		return m, nil
	}
	if p.Update != "" {
		m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
		m.FromMailAddress(e.from)
		m.ToMailAddress(to)
		m.Subject(fmt.Sprintf("Klaxon update: #%s %s: %s", p.Incident, p.Update, oneLine(p.Summary)))
		m.SetDateWithValue(l.now())
		m.SetMessageID()
		m.SetGenHeader("Auto-Submitted", "auto-generated")
		m.SetGenHeader("X-Klaxon-Incident", p.Incident)
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
		Severity: p.Severity,
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
	m.SetMessageID()
	m.SetImportance(gomail.ImportanceHigh)
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetGenHeader("X-Klaxon-Incident", p.Incident)
	m.SetBodyString(gomail.TypeTextPlain, text.String())
	m.AddAlternativeString(gomail.TypeTextHTML, html.String())
	return m, nil
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
