package slack_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/slack"
	"github.com/klaxonhq/klaxon/notify/webhook"
)

const public = "https://klaxon.example.com"

func incident(state klaxon.State) *klaxon.Incident {
	inc := &klaxon.Incident{ID: "42", Summary: "5xx ratio above 5%", Severity: "critical", Urgency: klaxon.UrgencyHigh,
		Labels: map[string]string{"service": "payments"}, State: state, AlertCount: 3, FiringCount: 2,
		Policy: klaxon.Policy{Name: "payments"}}
	switch state {
	case klaxon.StateAcknowledged:
		inc.AckedBy, inc.Assignee = "alice", "alice"
	case klaxon.StateResolved:
		inc.AckedBy, inc.Assignee, inc.ResolvedBy, inc.FiringCount = "alice", "alice", "bob", 0
	}
	return inc
}

// block is a block as Slack reads it.
type block struct {
	Type     string    `json:"type"`
	BlockID  string    `json:"block_id"`
	Text     *text     `json:"text"`
	Fields   []text    `json:"fields"`
	Elements []element `json:"elements"`
}

type text struct {
	Type, Text string
}

// element is a button, whose text is an object, or a context block's
// text object, whose text is a string.
type element struct {
	Type     string `json:"type"`
	Text     any    `json:"text"`
	ActionID string `json:"action_id"`
	Value    string `json:"value"`
	Style    string `json:"style"`
}

// decode is blocks as Slack reads them, after a check that they are
// valid by slack-go's rules (text objects within their limits).
func decode(t *testing.T, blocks []slackapi.Block) []block {
	t.Helper()
	b, err := json.Marshal(blocks)
	require.NoError(t, err)
	var out []block
	require.NoError(t, json.Unmarshal(b, &out))
	for _, bl := range blocks {
		if s, ok := bl.(*slackapi.SectionBlock); ok {
			require.NoError(t, s.Text.Validate())
			for _, f := range s.Fields {
				require.NoError(t, f.Validate())
				require.LessOrEqual(t, utf8.RuneCountInString(f.Text), 2000, "a field holds 2000 characters")
			}
		}
	}
	return out
}

// buttonsOf lists the action IDs and values of the buttons in blocks.
func buttonsOf(blocks []block) []string {
	var out []string
	for _, b := range blocks {
		if b.Type != "actions" {
			continue
		}
		for _, e := range b.Elements {
			out = append(out, e.ActionID+"="+e.Value)
		}
	}
	return out
}

func TestIncidentMessage(t *testing.T) {
	tests := []struct {
		name    string
		state   klaxon.State
		text    string
		fields  []string
		buttons []string
	}{
		{"triggered", klaxon.StateTriggered, "#42 CRITICAL 5xx ratio above 5%: triggered",
			[]string{"*State*\nTriggered", "*Urgency*\nhigh", "*Alerts*\n2 firing of 3", "*Paging*\nalice, bob"},
			[]string{"klaxon_ack=42", "klaxon_resolve=42", "klaxon_escalate=42@0.0.0"}},
		{"acknowledged", klaxon.StateAcknowledged, "#42 CRITICAL 5xx ratio above 5%: acknowledged by alice",
			[]string{"*State*\nAcknowledged by alice", "*Urgency*\nhigh", "*Alerts*\n2 firing of 3", "*Paging*\nalice, bob", "*Assignee*\nalice"},
			[]string{"klaxon_resolve=42", "klaxon_escalate=42@0.0.0"}},
		{"resolved", klaxon.StateResolved, "#42 CRITICAL 5xx ratio above 5%: resolved by bob",
			[]string{"*State*\nResolved by bob", "*Urgency*\nhigh", "*Alerts*\n0 firing of 3", "*Paging*\nalice, bob", "*Assignee*\nalice"},
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			txt, blocks := slack.IncidentMessage(incident(tc.state), []string{"alice", "bob"}, public)
			require.Equal(t, tc.text, txt)
			got := decode(t, blocks)
			require.Equal(t, "section", got[0].Type)
			require.Contains(t, got[0].Text.Text, "*<https://klaxon.example.com/incidents/42|#42 CRITICAL>* 5xx ratio above 5%")
			var fields []string
			for _, f := range got[0].Fields {
				require.Equal(t, "mrkdwn", f.Type)
				fields = append(fields, f.Text)
			}
			require.Equal(t, tc.fields, fields)
			require.Equal(t, "context", got[1].Type)
			require.Equal(t, tc.buttons, buttonsOf(got))
			if tc.buttons == nil {
				require.Len(t, got, 2, "a resolved incident has no actions block")
			}
		})
	}
}

// TestIncidentMessageEscapes: text from the incident cannot format,
// mention or link: &, < and > are escaped everywhere, IDs in buttons
// stay as they are.
func TestIncidentMessageEscapes(t *testing.T) {
	inc := incident(klaxon.StateTriggered)
	inc.ID = "7&8"
	inc.Summary = "<!channel> disk <full> & <https://evil.example|click>"
	inc.Labels["service"] = "a<b"
	txt, blocks := slack.IncidentMessage(inc, []string{"<@U0BOSS>"}, "")
	require.Equal(t, "#7&amp;8 CRITICAL &lt;!channel&gt; disk &lt;full&gt; &amp; &lt;https://evil.example|click&gt;: triggered", txt)
	b, err := json.Marshal(blocks)
	require.NoError(t, err)
	for _, raw := range []string{"<!channel>", "<full>", "<https://evil", "<@U0BOSS>", "a<b"} {
		require.NotContains(t, string(b), jsonString(raw), "unescaped %q", raw)
	}
	got := decode(t, blocks)
	require.Equal(t, ":rotating_light: *#7&amp;8 CRITICAL* &lt;!channel&gt; disk &lt;full&gt; &amp; &lt;https://evil.example|click&gt;", got[0].Text.Text)
	require.Contains(t, got[0].Fields, text{"mrkdwn", "*Paging*\n&lt;@U0BOSS&gt;"})
	require.Equal(t, []string{"klaxon_ack=7&8", "klaxon_resolve=7&8", "klaxon_escalate=7&8@0.0.0"}, buttonsOf(got))
	require.Equal(t, "service a&lt;b · policy payments", got[1].Elements[0].Text, "no link without a public URL")
}

// jsonString is s as it shows inside a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

// TestIncidentMessageBounds: however long the incident's text, every
// text object keeps within Slack's limits.
func TestIncidentMessageBounds(t *testing.T) {
	inc := incident(klaxon.StateAcknowledged)
	inc.Summary = strings.Repeat("<&>", 5000)
	inc.ID = strings.Repeat("9", 500)
	inc.Assignee = strings.Repeat("x", 5000)
	paged := make([]string, 500)
	for i := range paged {
		paged[i] = "user-with-a-long-name"
	}
	txt, blocks := slack.IncidentMessage(inc, paged, public)
	require.LessOrEqual(t, utf8.RuneCountInString(txt), 3000)
	got := decode(t, blocks)
	require.True(t, strings.HasSuffix(got[0].Fields[3].Text, "…"), "the paged list is cut")
	for _, e := range got[2].Elements {
		require.True(t, strings.HasPrefix(e.Value, inc.ID), "the value is the incident's ID")
		require.LessOrEqual(t, len(e.Value), 2000, "Slack's bound on a button's value")
	}
}

func TestPageMessage(t *testing.T) {
	p := klaxon.Page{Incident: "42", Notification: 1, User: klaxon.User{ID: "alice", Name: "Alice"}, Via: slack.Via,
		Summary: "5xx <ratio>", Severity: "critical", Alerts: 2}
	txt, blocks := slack.PageMessage(p, public)
	hook := webhook.NewSlackMessage(p, public)
	require.Equal(t, hook.Text, txt)
	got := decode(t, blocks)
	require.Len(t, got, len(hook.Blocks)+1, "the webhook's blocks, and the buttons")
	require.Equal(t, hook.Blocks[0].Text.Text, got[0].Text.Text)
	require.Equal(t, []string{"klaxon_ack=42", "klaxon_resolve=42", "klaxon_escalate=42@n1"}, buttonsOf(got))

	p.Test = true
	txt, blocks = slack.PageMessage(p, public)
	require.Equal(t, klaxon.TestText("slack"), txt)
	require.Nil(t, buttonsOf(decode(t, blocks)), "a test page asks for nothing")

	p.Test, p.Bundle, p.Text = false, 2, "2 incidents for alice: #42 #43. Reply AA to ack all"
	txt, blocks = slack.PageMessage(p, public)
	require.Equal(t, "2 incidents for alice: #42 #43. Acknowledge each from its message, or with `/klaxon ack ID`.", txt)
	require.Nil(t, buttonsOf(decode(t, blocks)), "a bundle is of several incidents")
}

func TestEventText(t *testing.T) {
	step := 1
	tests := []struct {
		e    klaxon.Event
		want string
	}{
		{klaxon.Event{Kind: klaxon.EventAcknowledged, By: "alice", How: "slack"}, "acknowledged by alice via slack"},
		{klaxon.Event{Kind: klaxon.EventPageSent, User: "bob", Via: "sms", Step: &step}, "page sent to bob by sms (step 2)"},
		{klaxon.Event{Kind: klaxon.EventNote, By: "alice", How: "api", Text: "rolling back"}, "note by alice via api: rolling back"},
	}
	for _, tc := range tests {
		t.Run(string(tc.e.Kind), func(t *testing.T) {
			require.Equal(t, tc.want, slack.EventText(tc.e))
		})
	}
}
