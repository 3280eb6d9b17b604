package web_test

import (
	"crypto/tls"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/internal/authlimit"
	"github.com/klaxonhq/klaxon/web"
)

func TestSignIn(t *testing.T) {
	r := newRig(t)
	b := r.browser(t)

	code, _, loc := b.get("/incidents?state=all")
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, "/login?next="+url.QueryEscape("/incidents?state=all"), loc)

	code, body, _ := b.post("/login", url.Values{"token": {"not-a-token"}, "next": {"/oncall"}})
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, body, "That token is not one Klaxon knows.")
	require.Contains(t, body, `name="next" value="/oncall"`)

	req, err := http.NewRequest(http.MethodPost, r.srv.URL+"/login", strings.NewReader(url.Values{"token": {actToken}, "next": {"/oncall"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.http.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/oncall", resp.Header.Get("Location"))
	cookies := resp.Cookies()
	require.Len(t, cookies, 1)
	ck := cookies[0]
	require.Equal(t, "klaxon_session", ck.Name)
	require.True(t, ck.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, ck.SameSite)
	require.False(t, ck.Secure, "Secure over plain HTTP would never be sent back")
	require.NotContains(t, ck.Value, actToken)

	code, body, _ = b.get("/oncall")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "On call now")
	require.Contains(t, body, "oncall") // who is signed in

	// Signing out ends the session, also for a copy of its cookie taken
	// before, which the browser's forgetting would not end.
	u, err := url.Parse(r.srv.URL)
	require.NoError(t, err)
	stolen := r.browser(t)
	stolen.http.Jar.SetCookies(u, b.http.Jar.Cookies(u))
	code, _, _ = stolen.get("/oncall")
	require.Equal(t, http.StatusOK, code, "the copy works while the session lasts")
	code, _, loc = b.post("/logout", url.Values{"csrf": {b.csrf("/oncall")}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, "/login", loc)
	code, _, _ = b.get("/oncall")
	require.Equal(t, http.StatusSeeOther, code)
	code, _, loc = stolen.get("/oncall")
	require.Equal(t, http.StatusSeeOther, code, "the copy signs in no more")
	require.Contains(t, loc, "/login")
}

func TestSignInStaysOnSite(t *testing.T) {
	r := newRig(t)
	for _, next := range []string{"//evil.example/x", "https://evil.example/", `/\evil.example`, "javascript:alert(1)", "", "/\t/evil.example/x", "/\n/evil.example"} {
		b := r.browser(t)
		code, _, loc := b.post("/login", url.Values{"token": {readToken}, "next": {next}})
		require.Equal(t, http.StatusSeeOther, code, next)
		require.Equal(t, "/", loc, next)
	}
	// Signed in, /login sends on to next at once: a link can carry it.
	b := r.signedIn(t, readToken)
	code, _, loc := b.get("/login?next=/%09/evil.example/x")
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, "/", loc)
}

func TestSecureCookieOverTLS(t *testing.T) {
	r := newRig(t)
	for name, set := range map[string]func(*http.Request){
		"tls":   func(req *http.Request) { req.TLS = &tls.ConnectionState{HandshakeComplete: true} },
		"proxy": func(req *http.Request) { req.Header.Set("X-Forwarded-Proto", "https") },
	} {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "https://klaxon.example/login", strings.NewReader("token="+readToken))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.TLS = nil // httptest.NewRequest's default for https
			set(req)
			rec := httptest.NewRecorder()
			r.srv.Config.Handler.ServeHTTP(rec, req)
			require.Equal(t, http.StatusSeeOther, rec.Code)
			cookies := rec.Result().Cookies()
			require.Len(t, cookies, 1)
			require.True(t, cookies[0].Secure)
		})
	}
}

func TestFailedSignInsAreLimited(t *testing.T) {
	r := newRig(t)
	b := r.browser(t)
	for range authlimit.MaxFailures {
		code, _, _ := b.post("/login", url.Values{"token": {"guess"}})
		require.Equal(t, http.StatusUnauthorized, code)
	}
	code, body, _ := b.post("/login", url.Values{"token": {"guess"}})
	require.Equal(t, http.StatusTooManyRequests, code)
	require.Contains(t, body, "Too many failed sign-ins")
	// Over the limit, not even the right token is compared, so a guesser
	// learns nothing more, until the window ends.
	code, _, _ = b.post("/login", url.Values{"token": {readToken}})
	require.Equal(t, http.StatusTooManyRequests, code)
	r.Clock.Add(authlimit.Window)
	r.signedIn(t, readToken)
}

func TestSessionEnds(t *testing.T) {
	t.Run("forged", func(t *testing.T) {
		r := newRig(t)
		b := r.signedIn(t, readToken)
		u, _ := url.Parse(r.srv.URL)
		ck := b.http.Jar.Cookies(u)[0]
		payload, sig, _ := strings.Cut(ck.Value, ".")
		// The payload of an admin's session under a reader's signature.
		forged := strings.Replace(payload, "ZGFzaGJvYXJk", "b3Bz", 1) // "dashboard" → "ops"
		require.NotEqual(t, payload, forged)
		b.http.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: forged + "." + sig, Path: "/"}})
		code, _, _ := b.get("/incidents")
		require.Equal(t, http.StatusSeeOther, code)
	})
	t.Run("token changed", func(t *testing.T) {
		r := newRig(t)
		b := r.signedIn(t, actToken)
		r.tokens.rotate("token", "oncall", "a-new-act-token-0123")
		code, _, loc := b.get("/incidents")
		require.Equal(t, http.StatusSeeOther, code)
		require.True(t, strings.HasPrefix(loc, "/login"), loc)
	})
	t.Run("expired", func(t *testing.T) {
		r := newRig(t)
		b := r.signedIn(t, readToken)
		r.Clock.Add(14*24*time.Hour - time.Second)
		code, _, _ := b.get("/incidents")
		require.Equal(t, http.StatusOK, code)
		r.Clock.Add(time.Second)
		code, _, _ = b.get("/incidents")
		require.Equal(t, http.StatusSeeOther, code)
	})
}

func TestAcknowledgeFromTheConsole(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	b := r.signedIn(t, actToken)

	code, body, _ := b.get("/incidents/" + id)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "db is down")
	require.Contains(t, body, ">Acknowledge</button>")

	code, _, loc := b.post("/incidents/"+id+"/ack", url.Values{"csrf": {b.csrf("/incidents/" + id)}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, "/incidents/"+id, loc)

	inc := r.Incident(t, id)
	require.Equal(t, klaxon.StateAcknowledged, inc.State)
	require.Equal(t, "oncall", inc.AckedBy)
	events, _, err := r.Store.Timeline(t.Context(), id, 0, 100)
	require.NoError(t, err)
	last := events[len(events)-1]
	require.Equal(t, klaxon.EventAcknowledged, last.Kind)
	require.Equal(t, "web", last.How)

	_, body, _ = b.get("/incidents/" + id)
	require.Contains(t, body, "acknowledged by oncall via web")
	require.NotContains(t, body, ">Acknowledge</button>")
	require.Contains(t, body, ">Resolve</button>")
}

func TestUserActsAsThemselves(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	b := r.signedIn(t, aliceToken)
	code, _, _ := b.post("/incidents/"+id+"/resolve", url.Values{"csrf": {b.csrf("/incidents/" + id)}})
	require.Equal(t, http.StatusSeeOther, code)
	inc := r.Incident(t, id)
	require.Equal(t, klaxon.StateResolved, inc.State)
	require.Equal(t, "alice", inc.ResolvedBy)
}

func TestSnooze(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	b := r.signedIn(t, actToken)
	csrf := b.csrf("/incidents/" + id)

	code, body, _ := b.post("/incidents/"+id+"/snooze", url.Values{"csrf": {csrf}, "duration": {"soon"}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "must be a positive duration")

	code, _, _ = b.post("/incidents/"+id+"/snooze", url.Values{"csrf": {csrf}, "duration": {"1h"}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, t0.Add(time.Hour), r.Incident(t, id).SnoozedUntil)

	code, _, _ = b.post("/incidents/"+id+"/reboot", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusNotFound, code)
}

func TestReadOnlyCannotAct(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	b := r.signedIn(t, readToken)
	code, body, _ := b.get("/incidents/" + id)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "db is down")
	for _, button := range []string{"Acknowledge", "Resolve", "Escalate", "Snooze"} {
		require.NotContains(t, body, ">"+button+"</button>")
	}
	// The form, posted anyway, with the session's own CSRF token.
	code, body, _ = b.post("/incidents/"+id+"/ack", url.Values{"csrf": {b.csrf("/incidents/" + id)}})
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, body, `dashboard lacks scope &#34;act&#34;`)
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, id).State)
}

func TestForgedPostsAreRefused(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	b := r.signedIn(t, adminToken)
	other := r.signedIn(t, adminToken)
	path := "/incidents/" + id + "/ack"

	for name, form := range map[string]url.Values{
		"no token":                  {},
		"wrong token":               {"csrf": {"AAAA"}},
		"another session's token":   {"csrf": {other.csrf("/incidents/" + id)}},
		"override without a token":  {"user": {"alice"}, "from": {"2026-11-23T09:00"}, "to": {"2026-11-24T09:00"}},
		"sign-out without a token":  {},
		"removal without a token":   {},
		"snooze with a blank token": {"csrf": {""}, "duration": {"1h"}},
	} {
		t.Run(name, func(t *testing.T) {
			p := path
			switch name {
			case "override without a token":
				p = "/schedules/primary/overrides"
			case "sign-out without a token":
				p = "/logout"
			case "removal without a token":
				p = "/schedules/primary/overrides/1/delete"
			case "snooze with a blank token":
				p = "/incidents/" + id + "/snooze"
			}
			code, body, _ := b.post(p, form)
			require.Equal(t, http.StatusForbidden, code)
			require.Contains(t, body, "CSRF token is missing or wrong")
		})
	}
	t.Run("from another site", func(t *testing.T) {
		// The right token, in a form a page of another site posted: the
		// browser says so (Sec-Fetch-Site), and the post is refused
		// before it is read.
		req, err := http.NewRequest(http.MethodPost, r.srv.URL+path, strings.NewReader(url.Values{"csrf": {b.csrf("/incidents/" + id)}}.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		code, body, _ := b.do(req)
		require.Equal(t, http.StatusForbidden, code)
		require.Contains(t, body, "a form posted from another site")
	})
	require.Equal(t, klaxon.StateTriggered, r.Incident(t, id).State)
	code, body, _ := b.get("/schedules/primary")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "None in these 14 days.")
}

func TestIncidentList(t *testing.T) {
	r := newRig(t)
	older := r.Open(t, "db")
	r.Clock.Add(5 * time.Minute)
	acked := r.Open(t, "cache")
	r.Clock.Add(5 * time.Minute)
	resolved := r.Open(t, "queue")
	_, err := r.Engine.Act(t.Context(), klaxon.ActionAck, acked, klaxon.Actor{By: "alice", How: "sms"})
	require.NoError(t, err)
	_, err = r.Engine.Act(t.Context(), klaxon.ActionResolve, resolved, klaxon.Actor{By: "alice", How: "sms"})
	require.NoError(t, err)
	b := r.signedIn(t, readToken)

	_, body, _ := b.get("/incidents")
	require.Contains(t, body, "db is down")
	require.Contains(t, body, "cache is down")
	require.NotContains(t, body, "queue is down")
	require.Contains(t, body, "acked by alice")
	require.Contains(t, body, "10m ago")
	require.Contains(t, body, `data-refresh="15"`)
	require.Less(t, strings.Index(body, "cache is down"), strings.Index(body, "db is down"), "newest first")

	_, body, _ = b.get("/incidents?state=all")
	require.Less(t, strings.Index(body, "db is down"), strings.Index(body, "queue is down"), "open ones first")

	_, body, _ = b.get("/incidents?state=triggered")
	require.Contains(t, body, "/incidents/"+older)
	require.NotContains(t, body, "/incidents/"+acked)

	_, body, _ = b.get("/incidents?state=all&policy=nosuch")
	require.Contains(t, body, "No incidents match.")

	code, _, _ := b.get("/incidents?urgency=bogus")
	require.Equal(t, http.StatusBadRequest, code)
	code, body, _ = b.get("/incidents?state=sleeping")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "must be open, triggered, acknowledged, resolved or all")
	code, body, _ = b.get("/incidents?before=x")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "want an incident ID")

	// A page at a time, each with the link to the older ones.
	defer web.SetListLimit(2)()
	code, body, _ = b.get("/incidents?state=all")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "/incidents/"+resolved)
	require.Contains(t, body, "/incidents/"+acked)
	require.NotContains(t, body, "/incidents/"+older+`"`)
	link := regexpFind(t, body, `href="(/incidents\?before=[^"]+)">Older incidents`)
	code, body, _ = b.get(html.UnescapeString(link))
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "/incidents/"+older+`"`)
	require.NotContains(t, body, "/incidents/"+acked+`"`)
	require.NotContains(t, body, "Older incidents", "the last page")
}

func TestIncidentPages(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	r.Update(t, id, func(inc *klaxon.Incident) {
		for i := range 120 {
			a := klaxon.AlertState{Alert: klaxon.Alert{Key: fmt.Sprintf("prometheus/%03d", i), Status: klaxon.Firing, Summary: "disk " + strconv.Itoa(i),
				Annotations: map[string]string{"runbook_url": "https://runbooks.example/disk", "bad_url": "javascript:alert(1)"}, URL: "http://prometheus:9090/graph"}, Count: 1, FirstSeen: t0, LastSeen: t0}
			inc.Changed = append(inc.Changed, a)
			inc.Record(klaxon.Event{At: t0, Kind: klaxon.EventAlertJoined, Alert: a.Key})
		}
		inc.AlertCount, inc.FiringCount = 120, 120
	})
	b := r.signedIn(t, readToken)

	_, body, _ := b.get("/incidents/" + id)
	require.Equal(t, 50, strings.Count(body, `<li class="alert firing">`))
	require.Contains(t, body, ">disk 0</span>")
	require.NotContains(t, body, ">disk 50</span>")
	require.Contains(t, body, `href="https://runbooks.example/disk"`)
	require.NotContains(t, body, "javascript:")
	require.Contains(t, body, "50 of 120 events.")
	m := regexpFind(t, body, `\?alerts=([^"]+)">next alerts`)
	require.Contains(t, body, `?events=50">next events`)

	_, body, _ = b.get("/incidents/" + id + "?alerts=" + m + "&events=100")
	require.Contains(t, body, ">disk 50</span>")
	require.NotContains(t, body, ">disk 0</span>")
	require.Contains(t, body, "20 of 120 events.")
	require.Contains(t, body, `<ol class="timeline" start="101">`)
	require.NotContains(t, body, "next events")

	code, body, _ := b.get("/incidents/" + id + "?events=-1")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "must be a number from 0")
	code, _, _ = b.get("/incidents/4242")
	require.Equal(t, http.StatusNotFound, code)
}

func TestOnCallAndOverrides(t *testing.T) {
	r := newRig(t)
	admin := r.signedIn(t, adminToken)

	// Bob has the week that began Monday 09:00 New York time, until the
	// next Monday's handoff to alice.
	_, body, _ := admin.get("/oncall")
	require.Contains(t, body, "<strong>bob</strong>")
	require.Contains(t, body, `<time datetime="2026-11-30T14:00:00Z">`)
	require.Contains(t, body, "next: alice")

	code, body, _ := admin.get("/schedules/primary")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `aria-label="weekly"`)
	require.Contains(t, body, `aria-label="final"`)
	require.Contains(t, body, "<strong>alice</strong> Mon 23 Nov 00:00 – Mon 23 Nov 09:00") // the drawing starts at midnight
	require.Contains(t, body, "<strong>bob</strong> Mon 23 Nov 09:00 – Mon 30 Nov 09:00")
	require.Contains(t, body, ">Add override</button>")

	csrf := admin.csrf("/schedules/primary")
	code, body, _ = admin.post("/schedules/primary/overrides", url.Values{"csrf": {csrf}, "user": {"carol"}, "from": {"2026-11-23T09:00"}, "to": {"2026-11-24T09:00"}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "no user &#34;carol&#34;")
	code, body, _ = admin.post("/schedules/primary/overrides", url.Values{"csrf": {csrf}, "user": {"alice"}, "from": {"tomorrow"}, "to": {"2026-11-24T09:00"}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "want a date and time like 2026-12-24T09:00")

	code, _, loc := admin.post("/schedules/primary/overrides", url.Values{"csrf": {csrf}, "user": {"alice"}, "from": {"2026-11-23T09:00"}, "to": {"2026-11-24T09:00"}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, "/schedules/primary", loc)
	ovs, err := r.Store.Overrides(t.Context(), "primary", t0)
	require.NoError(t, err)
	require.Len(t, ovs, 1)
	require.Equal(t, "ops", ovs[0].By)
	require.Equal(t, time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC), ovs[0].From.UTC(), "read on the schedule's wall clock")

	_, body, _ = admin.get("/oncall")
	require.Contains(t, body, "<strong>alice</strong>")
	require.Contains(t, body, `<time datetime="2026-11-24T14:00:00Z">`)
	require.Contains(t, body, "next: bob")

	_, body, _ = admin.get("/schedules/primary")
	require.Contains(t, body, "by ops")
	require.Contains(t, body, `/schedules/primary/overrides/`+ovs[0].ID+`/delete`)

	// Someone who may act, not administer, sees the override and cannot
	// add or remove one.
	responder := r.signedIn(t, actToken)
	_, body, _ = responder.get("/schedules/primary")
	require.Contains(t, body, "by ops")
	require.NotContains(t, body, "Add override")
	require.NotContains(t, body, "/delete")
	code, _, _ = responder.post("/schedules/primary/overrides/"+ovs[0].ID+"/delete", url.Values{"csrf": {responder.csrf("/schedules/primary")}})
	require.Equal(t, http.StatusForbidden, code)

	code, _, _ = admin.post("/schedules/primary/overrides/"+ovs[0].ID+"/delete", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusSeeOther, code)
	_, body, _ = admin.get("/oncall")
	require.Contains(t, body, "<strong>bob</strong>")
	code, _, _ = admin.post("/schedules/primary/overrides/"+ovs[0].ID+"/delete", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusNotFound, code)
	code, _, _ = admin.get("/schedules/nosuch")
	require.Equal(t, http.StatusNotFound, code)
}

func TestUsersAndPolicies(t *testing.T) {
	r := newRig(t)
	b := r.signedIn(t, readToken)
	_, body, _ := b.get("/policies")
	require.Contains(t, body, `<span class="target">schedule:primary</span> → <strong>bob</strong>`)
	require.Contains(t, body, `<span class="target">user:bob</span> → <strong>bob</strong>`)
	require.Contains(t, body, "then after 5m")

	_, body, _ = b.get("/users")
	require.Contains(t, body, "Alice Chen")
	require.Contains(t, body, "…0001")
	require.NotContains(t, body, "+15550100001")
	require.Regexp(t, `(?s)Bob Li.*On call now</dt><dd>primary`, body)
}

func TestPagesCarrySafetyHeaders(t *testing.T) {
	r := newRig(t)
	b := r.signedIn(t, readToken)
	for _, path := range []string{"/login", "/incidents", "/nosuch", "/static/klaxon.css"} {
		req, err := http.NewRequest(http.MethodGet, r.srv.URL+path, nil)
		require.NoError(t, err)
		resp, err := b.http.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self'", path)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'", path)
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), path)
	}
	code, body, _ := b.get("/nosuch")
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, body, "no page /nosuch")
}

func regexpFind(t *testing.T, body, expr string) string {
	t.Helper()
	m := regexp.MustCompile(expr).FindStringSubmatch(body)
	require.NotNil(t, m, "no match of %s", expr)
	return m[1]
}

func TestNotesAndRolesFromTheConsole(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	b := r.signedIn(t, aliceToken)
	csrf := b.csrf("/incidents/" + id)
	code, _, _ := b.post("/incidents/"+id+"/notes", url.Values{"csrf": {csrf}, "text": {"failing over to the replica"}, "update": {"1"}})
	require.Equal(t, http.StatusSeeOther, code)
	code, body, _ := b.post("/incidents/"+id+"/notes", url.Values{"csrf": {csrf}, "text": {"  "}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "a note needs text")
	code, _, _ = b.post("/incidents/"+id+"/assign", url.Values{"csrf": {csrf}, "user": {"bob"}, "role": {"commander"}})
	require.Equal(t, http.StatusSeeOther, code)

	_, body, _ = b.get("/incidents/" + id)
	require.Contains(t, body, "<dt>Commander</dt><dd>bob</dd>")
	require.Contains(t, body, "status update by alice via web: failing over to the replica")
	require.Contains(t, body, "commander set to bob by alice via web")

	reader := r.signedIn(t, readToken)
	_, body, _ = reader.get("/incidents/" + id)
	require.NotContains(t, body, "Add note")
	code, _, _ = reader.post("/incidents/"+id+"/notes", url.Values{"csrf": {reader.csrf("/incidents/" + id)}, "text": {"hi"}})
	require.Equal(t, http.StatusForbidden, code)
}

func TestEscalateFromTheConsole(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	b := r.signedIn(t, actToken)
	code, _, _ := b.post("/incidents/"+id+"/escalate", url.Values{"csrf": {b.csrf("/incidents/" + id)}})
	require.Equal(t, http.StatusSeeOther, code)
	events, _, err := r.Store.Timeline(t.Context(), id, 0, 100)
	require.NoError(t, err)
	var escalated []string
	for _, e := range events {
		if e.Kind == klaxon.EventEscalated && e.How == "web" {
			escalated = append(escalated, e.By)
		}
	}
	require.Equal(t, []string{"oncall"}, escalated)
}

// TestEscalateButtonOnce: the Escalate button of one rendering of the
// page escalates once, however often it is pressed; the button of the
// page shown again escalates again.
func TestEscalateButtonOnce(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db")
	b := r.signedIn(t, actToken)
	onceField := regexp.MustCompile(`name="once" value="([^"]+)"`)
	press := func() (url.Values, int) {
		_, body, _ := b.get("/incidents/" + id)
		m := onceField.FindStringSubmatch(body)
		require.NotNil(t, m, "no once on the escalate button")
		form := url.Values{"csrf": {b.csrf("/incidents/" + id)}, "once": {m[1]}}
		code, _, _ := b.post("/incidents/"+id+"/escalate", form)
		return form, code
	}
	escalations := func() int {
		return r.Store.CountEvents(t, id, func(ev klaxon.Event) bool { return ev.Kind == klaxon.EventEscalated && ev.How == "web" })
	}

	form, code := press()
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, 1, escalations())
	for range 3 {
		code, body, loc := b.post("/incidents/"+id+"/escalate", form)
		require.Equal(t, http.StatusSeeOther, code, body)
		require.Equal(t, "/incidents/"+id, loc, "back to the incident, as after the first press")
	}
	require.Equal(t, 1, escalations(), "the same button pressed again")

	_, code = press()
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, 2, escalations(), "the button of the page shown again")
}

// TestOnCallEdges: the next change is the first edge of any shift after
// now, an override starting over someone else's shift too; with nobody
// on call now, it is when someone comes.
func TestOnCallEdges(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	// Bob is on call all week; alice overrides him from 17:00Z to 23:00Z,
	// carol from 20:00Z: from 20:00 both alice and carol are on call.
	for _, o := range []klaxon.Override{
		{Schedule: "primary", User: "alice", From: t0.Add(2 * time.Hour), To: t0.Add(8 * time.Hour)},
		{Schedule: "primary", User: "bob", From: t0.Add(5 * time.Hour), To: t0.Add(6 * time.Hour)},
	} {
		_, err := r.Store.PutOverride(ctx, o, t0)
		require.NoError(t, err)
	}
	b := r.signedIn(t, readToken)
	_, body, _ := b.get("/oncall")
	require.Contains(t, body, "<strong>bob</strong>")
	require.Contains(t, body, `<time datetime="2026-11-23T17:00:00Z">`)
	require.Contains(t, body, "next: alice")

	r.Clock.Add(3 * time.Hour) // 18:00Z: alice, and bob joins at 20:00
	_, body, _ = b.get("/oncall")
	require.Contains(t, body, "<strong>alice</strong>")
	require.Contains(t, body, `<time datetime="2026-11-23T20:00:00Z">`)
	require.Contains(t, body, "next: alice, bob")
}

// TestStoreDown: a page whose reads fail says so, with a 503 and no
// detail of the store, and /users does not claim that nobody is on call.
func TestStoreDown(t *testing.T) {
	r := newRig(t)
	b := r.signedIn(t, readToken)
	require.NoError(t, r.Store.Close())
	code, body, _ := b.get("/incidents")
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.Contains(t, body, "store cannot be reached or cannot write")
	_, body, _ = b.get("/users")
	require.Contains(t, body, "Who is on call in primary is not known")
	require.NotContains(t, body, "store closed")
	require.NotContains(t, body, "On call now</dt><dd>no</dd>")
	require.Contains(t, body, "On call now</dt><dd>not known</dd>")
}

func TestStaticFiles(t *testing.T) {
	r := newRig(t)
	b := r.browser(t)
	code, body, _ := b.get("/static/klaxon.css")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "prefers-color-scheme: dark")
	code, _, _ = b.get("/static/")
	require.Equal(t, http.StatusNotFound, code, "no listing")
}

func TestReviewAndReport(t *testing.T) {
	r := newRig(t)
	id := r.Open(t, "db", klaxon.Sent{Notification: 1, User: "bob", Via: "sms", At: t0})
	r.Clock.Add(4 * time.Minute)
	_, err := r.Engine.Act(t.Context(), klaxon.ActionAck, id, klaxon.Actor{By: "bob", How: "sms"})
	require.NoError(t, err)
	r.Clock.Add(10 * time.Minute)
	_, err = r.Engine.Act(t.Context(), klaxon.ActionResolve, id, klaxon.Actor{By: "bob", How: "web"})
	require.NoError(t, err)
	b := r.signedIn(t, aliceToken) // alice's own zone is not set: UTC

	code, body, _ := b.get("/incidents/" + id + "/review?tz=America/New_York")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "# Incident "+id+": db is down")
	require.Contains(t, body, "2026-11-23 15:00 UTC (10:00 EST)")
	code, _, _ = b.get("/incidents/" + id + "/review?tz=Mars/Olympus")
	require.Equal(t, http.StatusBadRequest, code)

	req, err := http.NewRequest(http.MethodGet, r.srv.URL+"/incidents/"+id+"/review.md", nil)
	require.NoError(t, err)
	resp, err := b.http.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "text/markdown; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Content-Disposition"), "incident-"+id+"-review.md")

	code, body, _ = b.get("/report?since=7d&by=policy")
	require.Equal(t, http.StatusOK, code)
	require.Regexp(t, `<tr class="overall"><th>all</th><td>1</td><td>4m</td><td>4m</td><td>14m</td><td>14m</td>`, body)
	require.Contains(t, body, "<tr><th>p</th><td>1</td>")
	code, body, _ = b.get("/report?since=soon")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "want a duration back from now")
	code, _, _ = b.get("/report?by=weather")
	require.Equal(t, http.StatusBadRequest, code)
}

// TestSignInWhereTheAPIIsNotServed: a listener that serves the console
// and not the API (a public one) signs in users' web tokens only; an API
// token, and a session made with one elsewhere, get no further than the
// sign-in page there.
func TestSignInWhereTheAPIIsNotServed(t *testing.T) {
	r := newRig(t)
	console := r.srv.Config.Handler
	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		console.ServeHTTP(w, req.WithContext(config.WithServed(req.Context(), map[string]bool{config.ServeWeb: true})))
	}))
	t.Cleanup(public.Close)
	pub := *r
	pub.srv = public

	for _, token := range []string{readToken, adminToken} {
		code, body, _ := pub.browser(t).post("/login", url.Values{"token": {token}, "next": {"/oncall"}})
		require.Equal(t, http.StatusUnauthorized, code)
		require.Contains(t, body, "That token is not one Klaxon knows.", "nor says that it is an API token")
	}
	b := pub.signedIn(t, aliceToken)
	code, body, _ := b.get("/oncall")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "Alice Chen")

	// A session of an API token, made where the API is served: the
	// cookie goes to the other listener of the same host too.
	b = r.signedIn(t, adminToken)
	code, _, _ = b.get("/oncall")
	require.Equal(t, http.StatusOK, code)
	b.r = &pub
	code, _, loc := b.get("/oncall")
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, "/login?next=%2Foncall", loc)
}
