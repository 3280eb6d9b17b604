package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/browsertest"
)

// fakeTimers stands in for the page's clock: setInterval keeps its
// callbacks for tick to call, and each refresh that the page parses is
// counted once it has replaced what it replaces.
const fakeTimers = `
window.__ticks = [];
window.setInterval = function (f) { window.__ticks.push(f); return window.__ticks.length; };
window.__fetches = 0;
window.__parsed = 0;
(function () {
  var fetch = window.fetch;
  window.fetch = function () { window.__fetches++; return fetch.apply(this, arguments); };
  var parse = DOMParser.prototype.parseFromString;
  DOMParser.prototype.parseFromString = function () {
    var doc = parse.apply(this, arguments);
    queueMicrotask(function () { window.__parsed++; });
    return doc;
  };
})();
`

// tick fires the page's intervals once, as 15 s passing would, and
// waits for the refresh it started, if it started one: it says
// "refreshed" or "skipped".
const tick = `(async function () {
  var fetches = window.__fetches, parsed = window.__parsed;
  window.__ticks.forEach(function (f) { f(); });
  if (window.__fetches === fetches) { return "skipped"; }
  for (var i = 0; i < 1000 && window.__parsed === parsed; i++) {
    await new Promise(function (r) { setTimeout(r, 5); });
  }
  return window.__parsed === parsed ? "stuck" : "refreshed";
})()`

// signedInWithFakeTimers opens url in a new browser whose page timers
// are fakeTimers, signs in there with token, and returns the browser and
// a function that evaluates JavaScript on its page (awaiting a promise).
func signedInWithFakeTimers(t *testing.T, url, token string) (context.Context, func(js string) string) {
	t.Helper()
	ctx := browsertest.New(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: fakeTimers})
		return err
	})))
	require.Equal(t, http.StatusOK, open(t, ctx, url))
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("token"), token)))
	require.Equal(t, http.StatusOK, submit(t, ctx, chromedp.CSS("form button[type=submit]")))
	return ctx, func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		require.NoError(t, err, js)
		return v
	}
}

// TestRefreshKeepsWhatTheReaderIsDoing: an open incident's page
// refreshes its content every 15 s while shown, unless a field has the
// focus. A responder who opened "Note, assign", wrote half a note, and
// clicked on the page to copy a line of an alert lost the note and the
// form at the next refresh; one who opened an alert's whole summary to
// read its stack trace saw it fold shut under them; a snooze duration
// chosen and left went back to 30m. What the reader is doing stays.
func TestRefreshKeepsWhatTheReaderIsDoing(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	ctx, eval := signedInWithFakeTimers(t, r.srv.URL+"/incidents/"+id, actToken)
	require.Equal(t, "refreshed", eval(tick), "the page refreshes while nobody uses it")

	tests := []struct {
		name string
		do   string // what the reader does, then leaves the focus
		kept string // a JS expression that is "yes" when it is kept
	}{
		{"a note half written",
			`document.querySelector("details.work").open = true; document.getElementById("note-text").value = "failing over to"`,
			`document.getElementById("note-text") && document.getElementById("note-text").value === "failing over to" && document.querySelector("details.work").open ? "yes" : "no"`},
		{"the note form opened",
			`document.querySelector("details.work").open = true`,
			`document.querySelector("details.work").open ? "yes" : "no"`},
		{"a snooze duration chosen",
			`document.querySelector("select[name=duration]").value = "12h"`,
			`document.querySelector("select[name=duration]").value === "12h" ? "yes" : "no"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, http.StatusOK, open(t, ctx, r.srv.URL+"/incidents/"+id))
			eval(`(function () { ` + tt.do + `; document.activeElement && document.activeElement.blur(); return ""; })()`)
			require.Equal(t, "yes", eval(`(function () { return `+tt.kept+`; })()`), "before the refresh")
			got := eval(tick)
			require.NotEqual(t, "stuck", got)
			require.Equal(t, "yes", eval(`(function () { return `+tt.kept+`; })()`), "after a tick (%s)", got)
		})
	}

	// Left as it came, the page refreshes again.
	require.Equal(t, http.StatusOK, open(t, ctx, r.srv.URL+"/incidents/"+id))
	require.True(t, strings.HasPrefix(eval(tick), "refreshed"))
}

// TestStalePageSaysSo: a page that refreshes itself looks live. When its
// refresh fails (the session ended, by a token changed in the config or
// signed out in another tab; Klaxon's store cannot be read; Klaxon
// cannot be reached) the page stayed as it was, and said nothing: a
// responder watching the incidents in a storm saw no new ones, and took
// it for calm. The page says that it is no longer up to date.
func TestStalePageSaysSo(t *testing.T) {
	for _, tt := range []struct {
		name string
		stop func(r *rig)
	}{
		{"the session ended", func(r *rig) { r.tokens.rotate("token", "oncall", "a-new-act-token-0123") }},
		{"the store is down", func(r *rig) { require.NoError(t, r.Store.Close()) }},
		{"Klaxon is down", func(r *rig) { r.srv.CloseClientConnections(); r.srv.Listener.Close() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			id := r.Open(t, "db")
			ctx, eval := signedInWithFakeTimers(t, r.srv.URL+"/incidents", actToken)
			require.Equal(t, "refreshed", eval(tick))
			require.Contains(t, text(t, ctx, "body"), "#"+id)
			require.NotContains(t, strings.ToLower(text(t, ctx, "body")), "not up to date")

			tt.stop(r)
			eval(`(function () { window.__ticks.forEach(function (f) { f(); }); return ""; })()`)
			said := eval(`(async function () {
  for (var i = 0; i < 1000; i++) {
    if (/not up to date/i.test(document.body.innerText)) { return "said"; }
    await new Promise(function (r) { setTimeout(r, 5); });
  }
  return "silent";
})()`)
			require.Equal(t, "said", said, "the page says it is not up to date: %s", text(t, ctx, "body"))
		})
	}
}

// TestStalePageSaysSoWhenKlaxonDoesNotAnswer: a refresh whose request
// gets no answer (the network to Klaxon drops packets: a VPN gone, a
// host frozen) never ended, and neither said nor fixed anything: each
// 15 s another request joined it, and the page looked live for as long
// as the browser waited, many minutes. A refresh still unanswered when
// the next is due says that the page is not up to date; once Klaxon
// answers, the page is again, and says nothing.
func TestStalePageSaysSoWhenKlaxonDoesNotAnswer(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	console := r.srv.Config.Handler
	var hang atomic.Bool
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if hang.Load() {
			select {
			case <-release:
			case <-req.Context().Done():
			}
			return
		}
		console.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	ctx, eval := signedInWithFakeTimers(t, srv.URL+"/incidents/"+id, actToken)
	require.Equal(t, "refreshed", eval(tick))
	fire := `(function () { window.__ticks.forEach(function (f) { f(); }); return ""; })()`
	said := `/not up to date/i.test(document.body.innerText) ? "said" : "silent"`

	hang.Store(true)
	eval(fire) // a refresh that gets no answer
	require.Equal(t, "silent", eval(said), "a refresh under way is no news")
	eval(fire) // 15 s on, it still has none
	require.Equal(t, "said", eval(said), "the page says it is not up to date: %s", text(t, ctx, "body"))

	hang.Store(false)
	require.Equal(t, "refreshed", eval(tick))
	require.Equal(t, "silent", eval(said), "up to date again: %s", text(t, ctx, "body"))
}

// TestIncidentListRefreshesWithAFilterNotApplied: the list of incidents
// is what a responder watches in a storm. One who picked another state
// in its filter and did not press Filter (changed their mind, or put
// the phone away) left a field that differs from what the page wrote:
// the list took it for a form half filled in, refreshed no more, and
// said nothing, so the incidents opened since never showed. A filter
// not yet applied holds nothing back: the list refreshes, and the
// choice stays as the reader left it.
func TestIncidentListRefreshesWithAFilterNotApplied(t *testing.T) {
	r := newRig(t)
	r.Open(t, "db")
	ctx, eval := signedInWithFakeTimers(t, r.srv.URL+"/incidents", readToken)
	eval(`(function () { var s = document.querySelector("select[name=urgency]"); s.focus(); s.value = "high"; s.blur(); return ""; })()`)

	id := r.Open(t, "api")
	require.Equal(t, "refreshed", eval(tick), "the list refreshes")
	require.Contains(t, text(t, ctx, "ul.incidents"), "#"+id)
	require.Equal(t, "high", eval(`document.querySelector("select[name=urgency]").value`), "the filter as the reader left it")
}

// TestHeldRefreshSaysSo: a note half written and left (the reader went
// to copy a line of an alert, or to Slack) holds the incident's page as
// it was, so that the note is not lost; for as long as it stays there,
// the page showed the incident as it was, acknowledged by nobody and
// at its first step, and looked live: a responder could escalate what
// someone had acknowledged meanwhile. The page says that it is not up to
// date while a form it holds back keeps it so, and no more once the
// form is left as it came.
func TestHeldRefreshSaysSo(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	ctx, eval := signedInWithFakeTimers(t, r.srv.URL+"/incidents/"+id, actToken)
	said := `/not up to date/i.test(document.body.innerText) ? "said" : "silent"`
	eval(`(function () { document.querySelector("details.work").open = true; var n = document.getElementById("note-text"); n.focus(); n.value = "failing over to"; n.blur(); return ""; })()`)
	require.Equal(t, "skipped", eval(tick), "the note is kept")
	require.Equal(t, "said", eval(said), "the page says it is not up to date: %s", text(t, ctx, "body"))

	eval(`(function () { document.getElementById("note-text").value = ""; return ""; })()`)
	require.Equal(t, "refreshed", eval(tick))
	require.Equal(t, "silent", eval(said), "up to date again: %s", text(t, ctx, "body"))
}
