package slack_test

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/browsertest"
	"github.com/klaxonhq/klaxon/notify/slack"
)

// kitBlock is the part of Block Kit's JSON the preview draws.
type kitBlock struct {
	Type     string    `json:"type"`
	Text     *kitText  `json:"text"`
	Fields   []kitText `json:"fields"`
	Elements []struct {
		Type  string `json:"type"`
		Text  any    `json:"text"`
		Style string `json:"style"`
	} `json:"elements"`
}

type kitText struct {
	Text string `json:"text"`
}

var (
	mrkdwnLink = regexp.MustCompile(`&lt;([^|]+?)\|(.+?)&gt;`)
	mrkdwnBold = regexp.MustCompile(`\*([^*]+)\*`)
)

// mrkdwn draws the little of Slack's mrkdwn the messages use: links and
// bold, the text escaped first.
func mrkdwn(s string) template.HTML {
	s = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(s)
	h := template.HTMLEscapeString(s)
	// The machine's fonts have no emoji: a red mark stands in.
	h = strings.ReplaceAll(h, ":rotating_light:", `<span class="siren">!</span>`)
	h = mrkdwnLink.ReplaceAllString(h, `<a href="#">$2</a>`)
	h = mrkdwnBold.ReplaceAllString(h, `<b>$1</b>`)
	return template.HTML(strings.ReplaceAll(h, "\n", "<br>"))
}

var preview = template.Must(template.New("p").Funcs(template.FuncMap{"md": mrkdwn, "label": func(v any) string {
	if m, ok := v.(map[string]any); ok {
		s, _ := m["text"].(string)
		return s
	}
	s, _ := v.(string)
	return s
}}).Parse(`<!doctype html><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.46 -apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:16px;background:#fff;color:#1d1c1d}
.msg{display:flex;gap:8px}.avatar{width:36px;height:36px;border-radius:4px;background:#b3261e;color:#fff;font-weight:700;display:flex;align-items:center;justify-content:center}
.name{font-weight:900}.app{font-size:11px;background:#eee;border-radius:2px;padding:0 3px;margin-left:4px;color:#555}
.section{margin:4px 0}.fields{display:grid;grid-template-columns:1fr 1fr;gap:4px 16px;margin:4px 0}.context{color:#616061;font-size:13px;margin:4px 0}
.actions{display:flex;gap:8px;flex-wrap:wrap;margin-top:8px}button{font:inherit;font-weight:700;padding:4px 12px;border-radius:4px;border:1px solid #ccc;background:#fff}
button.primary{background:#007a5a;color:#fff;border-color:#007a5a}button.danger{background:#e01e5a;color:#fff;border-color:#e01e5a}a{color:#1264a3}.siren{display:inline-block;width:18px;height:18px;border-radius:9px;background:#e01e5a;color:#fff;text-align:center;font-weight:900;font-size:13px;line-height:18px}</style>
<div class="msg"><div class="avatar">K</div><div><div><span class="name">Klaxon</span><span class="app">APP</span></div>
{{range .}}{{if eq .Type "section"}}{{with .Text}}<div class="section">{{md .Text}}</div>{{end}}{{with .Fields}}<div class="fields">{{range .}}<div>{{md .Text}}</div>{{end}}</div>{{end}}
{{else if eq .Type "context"}}<div class="context">{{range .Elements}}{{md (label .Text)}} {{end}}</div>
{{else if eq .Type "actions"}}<div class="actions">{{range .Elements}}<button class="{{.Style}}">{{label .Text}}</button>{{end}}</div>{{end}}{{end}}
</div></div>`))

// TestMessageInChromium draws an incident's message from its Block Kit
// JSON, as Slack would lay it out, in a real Chromium: its summary and,
// while it is triggered, its three buttons. With KLAXON_SCREENSHOTS set
// (make screenshots) it leaves slack-message.png there.
func TestMessageInChromium(t *testing.T) {
	inc := &klaxon.Incident{ID: "42", Summary: "5xx ratio above 5% on payments", State: klaxon.StateTriggered, Urgency: klaxon.UrgencyHigh,
		Severity: "critical", AlertCount: 2, FiringCount: 2, CreatedAt: time.Date(2026, 11, 27, 3, 12, 0, 0, time.UTC),
		Labels: map[string]string{"service": "payments", "alertname": "HighErrorRate"}, Policy: klaxon.Policy{Name: "payments"}}
	_, blocks := slack.IncidentMessage(inc, []string{"bob"}, "https://klaxon.example.com")
	raw, err := json.Marshal(blocks)
	require.NoError(t, err)
	var bs []kitBlock
	require.NoError(t, json.Unmarshal(raw, &bs))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		require.NoError(t, preview.Execute(w, bs))
	}))
	t.Cleanup(srv.Close)

	ctx := browsertest.New(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.CSS(".msg"))))
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".msg")))
	require.NoError(t, err)
	require.Contains(t, got, "5xx ratio above 5% on payments")
	buttons, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("button")].map(b => b.textContent)`))
	require.NoError(t, err)
	require.Equal(t, []string{"Acknowledge", "Resolve", "Escalate"}, buttons)

	dir := os.Getenv("KLAXON_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "slack-message.png")
	require.NoError(t, browsertest.Screenshot(ctx, 640, path))
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Positive(t, info.Size())
}
