package webhook

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

func TestSendSlack(t *testing.T) {
	r := startReceiver(t, answer{status: 200, body: "ok"})
	w := newWebhook(t, Options{URL: r.URL + "/services/T0/B0/XXXX", Format: FormatSlack, PublicURL: public})
	require.NoError(t, w.Send(t.Context(), page))

	req := r.requests()[0]
	require.Equal(t, "/services/T0/B0/XXXX", req.path)
	require.Equal(t, "application/json", req.header.Get("Content-Type"))
	require.NotContains(t, req.header, SignatureHeader, "no secret, no signature")

	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
			Elements []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	dec := json.NewDecoder(strings.NewReader(string(req.body)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&msg))

	require.Equal(t, "#42 CRITICAL 5xx ratio above 5% on payments (2 firing)", msg.Text)
	require.Len(t, msg.Blocks, 2)
	require.Equal(t, "section", msg.Blocks[0].Type)
	require.Equal(t, "mrkdwn", msg.Blocks[0].Text.Type)
	require.Equal(t, "*#42 CRITICAL* 5xx ratio above 5% on payments (2 firing)\nPaging Alice (alice)", msg.Blocks[0].Text.Text)
	require.Nil(t, msg.Blocks[0].Elements)
	require.Equal(t, "context", msg.Blocks[1].Type)
	require.Nil(t, msg.Blocks[1].Text)
	require.Len(t, msg.Blocks[1].Elements, 1)
	require.Equal(t, "mrkdwn", msg.Blocks[1].Elements[0].Type)
	require.Equal(t, "<https://klaxon.example.com/incidents/42|Incident #42> in Klaxon", msg.Blocks[1].Elements[0].Text)
}

// Slack answers "ok", but any 2xx is success; a signed Slack request
// carries the headers, which Slack ignores.
func TestSendSlackAnswers(t *testing.T) {
	r := startReceiver(t, answer{status: 204})
	w := newWebhook(t, Options{URL: r.URL, Format: FormatSlack, Secret: secret})
	require.NoError(t, w.Send(t.Context(), page))
	req := r.requests()[0]
	require.Equal(t, Sign(secret, 1767323045, req.body), req.header.Get(SignatureHeader))

	r = startReceiver(t, answer{status: 404, body: "no_service"})
	err := newWebhook(t, Options{URL: r.URL, Format: FormatSlack}).Send(t.Context(), page)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "no_service", e.Body)
	require.False(t, e.Retryable())
	require.Len(t, r.requests(), 1)
}

func TestSlackMessage(t *testing.T) {
	tests := []struct {
		name            string
		page            klaxon.Page
		publicURL       string
		text, section   string
		contextElements []SlackText
	}{
		{
			name: "escaped", publicURL: public,
			page: klaxon.Page{Incident: "7", Severity: "warning", Alerts: 1, Summary: "p99 > 2s & <rising> on <!channel>",
				User: klaxon.User{ID: "bob", Name: "Bob <admin>"}},
			text:            "#7 WARNING p99 &gt; 2s &amp; &lt;rising&gt; on &lt;!channel&gt; (1 firing)",
			section:         "*#7 WARNING* p99 &gt; 2s &amp; &lt;rising&gt; on &lt;!channel&gt; (1 firing)\nPaging Bob &lt;admin&gt; (bob)",
			contextElements: []SlackText{{Type: "mrkdwn", Text: "<https://klaxon.example.com/incidents/7|Incident #7> in Klaxon"}},
		},
		{
			name: "no severity, no alerts, no public URL",
			page: klaxon.Page{Incident: "8", Summary: "disk full", User: klaxon.User{ID: "carol", Name: "carol"}},
			text: "#8 disk full", section: "*#8* disk full\nPaging carol",
		},
		{
			name: "incident ID escaped in the link", publicURL: "https://k.example.com/a&b",
			page:            klaxon.Page{Incident: "9|<x>", Summary: "s", User: klaxon.User{ID: "dan"}},
			text:            "#9|&lt;x&gt; s",
			section:         "*#9|&lt;x&gt;* s\nPaging dan",
			contextElements: []SlackText{{Type: "mrkdwn", Text: "<https://k.example.com/a&amp;b/incidents/9%7C%3Cx%3E|Incident #9|&lt;x&gt;> in Klaxon"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := NewSlackMessage(tt.page, tt.publicURL)
			require.Equal(t, tt.text, msg.Text)
			require.Equal(t, "section", msg.Blocks[0].Type)
			require.Equal(t, &SlackText{Type: "mrkdwn", Text: tt.section}, msg.Blocks[0].Text)
			if tt.contextElements == nil {
				require.Len(t, msg.Blocks, 1)
				return
			}
			require.Len(t, msg.Blocks, 2)
			require.Equal(t, SlackBlock{Type: "context", Elements: tt.contextElements}, msg.Blocks[1])
		})
	}
}

// A long summary is cut so that the section stays within Slack's 3000
// characters, and never inside an escape.
func TestSlackMessageLong(t *testing.T) {
	p := klaxon.Page{Incident: "1", Severity: "critical", Alerts: 3, Summary: strings.Repeat("<", 5000), User: klaxon.User{ID: "alice"}}
	msg := NewSlackMessage(p, public)
	require.LessOrEqual(t, len([]rune(msg.Blocks[0].Text.Text)), 3000)
	require.LessOrEqual(t, len([]rune(msg.Text)), 3000)
	require.Contains(t, msg.Blocks[0].Text.Text, "&lt;… (3 firing)")
}

// TestTestPayload: a test page is of type test, of no incident, with no
// link to one.
func TestTestPayload(t *testing.T) {
	at := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	p := NewPayload(klaxon.Page{User: klaxon.User{ID: "alice"}, Via: "webhook", Summary: "Klaxon test page", Text: klaxon.TestText("webhook"), Test: true},
		"https://klaxon.example.com", at)
	require.Equal(t, Payload{Type: "test", User: "alice", Summary: "Klaxon test page", Text: klaxon.TestText("webhook"), SentAt: at}, p)
}
