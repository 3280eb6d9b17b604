package web_test

import (
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/browsertest"
	"github.com/klaxonhq/klaxon/internal/klaxontest"
)

// A read-only token of the browser test's Klaxon.
const browserReadToken = "browser-read-token-0123"

// screenshotDir is where the browser test leaves its screenshots:
// KLAXON_SCREENSHOTS (make screenshots sets docs/console), else a
// temporary folder.
func screenshotDir(t *testing.T) string {
	if dir := os.Getenv("KLAXON_SCREENSHOTS"); dir != "" {
		return dir
	}
	return t.TempDir()
}

// TestConsoleInChromium drives the console in a real headless Chromium:
// sign in, see the incident an Alertmanager body opened, acknowledge it
// from its page and read the ack on its timeline; add an override on a
// schedule's page and see who is on call change; a read-only token sees
// no action buttons, and a form another site posts is refused. It takes
// a screenshot of each page at a phone's width and a desktop's.
func TestConsoleInChromium(t *testing.T) {
	h := klaxontest.Start(t, klaxontest.Config{
		Policies: []klaxontest.Policy{{Name: "default", Steps: []klaxontest.Step{{Targets: []string{"schedule:primary"}, EscalateAfter: 5 * time.Minute}}}},
		Users: []klaxontest.User{
			{ID: "alice", Name: "Alice Chen", Phone: "+15550100001", Notify: []klaxontest.Rule{klaxontest.SMS(0)}},
			{ID: "bob", Name: "Bob Li", Phone: "+15550100002", Notify: []klaxontest.Rule{klaxontest.SMS(0)}},
		},
		Schedules: []klaxontest.Schedule{{Name: "primary", TimeZone: "Europe/Berlin", Layers: []klaxontest.Layer{
			{Name: "weekly", Every: "1w", Handoff: "2026-01-05T09:00", Members: []string{"bob"}},
		}}},
		Tokens: []klaxontest.Token{{Name: "dashboard", Token: browserReadToken, Scopes: []string{"read"}}},
	})
	body, err := os.ReadFile("../internal/klaxontest/testdata/firing-two-alerts.json")
	require.NoError(t, err)
	h.Alertmanager(body)
	h.Phone("+15550100002").ExpectSMS("5xx ratio above 5% on payments")
	inc := h.OpenIncident("HighErrorRate")
	shots := screenshotDir(t)
	ctx := browsertest.New(t)

	// Signing in, sent there by the incident's own link.
	status := open(t, ctx, h.URL+"/incidents/"+inc.ID)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, h.URL+"/login?next=%2Fincidents%2F"+inc.ID, location(t, ctx))
	screenshot(t, ctx, shots, "login")
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("token"), klaxontest.APIToken)))
	require.Equal(t, http.StatusOK, submit(t, ctx, chromedp.CSS("form button[type=submit]")))
	require.Equal(t, h.URL+"/incidents/"+inc.ID, location(t, ctx))
	require.Contains(t, text(t, ctx, "h1"), "5xx ratio above 5% on payments")
	require.Contains(t, text(t, ctx, ".timeline"), "page sent to bob by sms")

	// The list has it, with who was paged.
	require.Equal(t, http.StatusOK, open(t, ctx, h.URL+"/incidents"))
	row := text(t, ctx, "ul.incidents")
	require.Contains(t, row, "#"+inc.ID)
	require.Contains(t, row, "2/2 alerts")
	require.Contains(t, row, "paged bob")
	screenshot(t, ctx, shots, "incidents")

	// Acknowledge from the incident's page.
	require.Equal(t, http.StatusOK, submit(t, ctx, chromedp.CSS(`a[href="/incidents/`+inc.ID+`"]`)))
	screenshot(t, ctx, shots, "incident")
	require.Equal(t, http.StatusOK, submit(t, ctx, chromedp.CSS(`form[action$="/ack"] button`)))
	require.Contains(t, strings.ToLower(text(t, ctx, "h1")), "acknowledged")
	require.Contains(t, text(t, ctx, ".timeline"), "acknowledged by test via web")
	require.Equal(t, klaxon.StateAcknowledged, h.Incident(inc.ID).State)

	// An override on the schedule's page changes who is on call now.
	require.Equal(t, http.StatusOK, open(t, ctx, h.URL+"/oncall"))
	require.Contains(t, text(t, ctx, ".oncall .now"), "bob")
	require.Equal(t, http.StatusOK, submit(t, ctx, chromedp.CSS(`a[href="/schedules/primary"]`)))
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	now := h.Clock.Now().In(berlin)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`select[name=user]`), "alice"),
		chromedp.SetValue(chromedp.CSS(`input[name=from]`), now.Add(-time.Hour).Format("2006-01-02T15:04")),
		chromedp.SetValue(chromedp.CSS(`input[name=to]`), now.Add(8*time.Hour).Format("2006-01-02T15:04")),
	))
	require.Equal(t, http.StatusOK, submit(t, ctx, chromedp.CSS(`form.override button`)))
	require.Contains(t, text(t, ctx, ".overrides"), "alice")
	screenshot(t, ctx, shots, "schedule")
	require.Equal(t, http.StatusOK, open(t, ctx, h.URL+"/oncall"))
	require.Contains(t, text(t, ctx, ".oncall .now"), "alice")
	require.Contains(t, text(t, ctx, ".oncall .next"), "bob")
	screenshot(t, ctx, shots, "oncall")
	for _, p := range []string{"users", "policies", "report"} {
		require.Equal(t, http.StatusOK, open(t, ctx, h.URL+"/"+p))
		screenshot(t, ctx, shots, p)
	}
	require.Contains(t, text(t, ctx, "main"), "Noisiest alerts") // the report, the last page shot
	require.Equal(t, http.StatusOK, open(t, ctx, h.URL+"/policies"))
	require.Contains(t, text(t, ctx, "ol.steps"), "schedule:primary → alice")

	// A page of another site posts a form to resolve the incident, in
	// the signed-in browser: refused before it is read.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><form id="f" method="post" action="` + h.URL + `/incidents/` + inc.ID + `/resolve"><button id="go">win a prize</button></form>`))
	}))
	t.Cleanup(evil.Close)
	require.Equal(t, http.StatusOK, open(t, ctx, evil.URL))
	require.Equal(t, http.StatusForbidden, submit(t, ctx, chromedp.ID("go")))
	require.Contains(t, text(t, ctx, "main"), "a form posted from another site")
	require.Equal(t, klaxon.StateAcknowledged, h.Incident(inc.ID).State)

	// A read-only token sees the incident and no button to act on it.
	require.Equal(t, http.StatusOK, open(t, ctx, h.URL+"/incidents"))
	require.Equal(t, http.StatusOK, submit(t, ctx, chromedp.CSS(".signout button")))
	require.Equal(t, h.URL+"/login", location(t, ctx))
	require.Equal(t, http.StatusOK, open(t, ctx, h.URL+"/incidents/"+inc.ID))
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("token"), browserReadToken)))
	require.Equal(t, http.StatusOK, submit(t, ctx, chromedp.CSS("form button[type=submit]")))
	require.Contains(t, text(t, ctx, "h1"), "5xx ratio above 5% on payments")
	buttons, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main button").length`))
	require.NoError(t, err)
	require.Zero(t, buttons)

	for _, p := range []string{"login", "incidents", "incident", "oncall", "schedule", "users", "policies", "report"} {
		for _, w := range []int{360, 1280} {
			f, err := os.Open(filepath.Join(shots, p+"-"+widthName(w)+".png"))
			require.NoError(t, err)
			cfg, err := png.DecodeConfig(f)
			f.Close()
			require.NoError(t, err)
			require.Equal(t, w, cfg.Width, "%s at %d px", p, w)
		}
	}
}

// open navigates to url and returns the status of its answer.
func open(t *testing.T, ctx context.Context, url string) int {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	require.NoError(t, err, "open %s", url)
	return int(resp.Status)
}

// submit clicks what sel selects, a link or a form's button, and returns
// the status of the page it leads to.
func submit[S chromedp.Selectable](t *testing.T, ctx context.Context, sel S) int {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel))
	require.NoError(t, err, "click %v", sel)
	return int(resp.Status)
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	return loc
}

// text is the text of the first element that css selects.
func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	require.NoError(t, err, "text of %s", css)
	return strings.Join(strings.Fields(s), " ")
}

func widthName(w int) string {
	if w < 600 {
		return "360"
	}
	return "1280"
}

// screenshot shoots the page at 360 and 1280 px into dir as
// NAME-360.png and NAME-1280.png.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	for _, w := range []int{360, 1280} {
		require.NoError(t, browsertest.Screenshot(ctx, w, filepath.Join(dir, name+"-"+widthName(w)+".png")))
	}
}
