package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzForms: whatever a signed-in browser posts in a console form, the
// console answers with a page, a redirect or a 4xx, never a 5xx: a
// command's bad field is the person's to mend. The commands are the
// real engine's, on an embedded store with two open incidents; the
// session is an admin token's, and each form carries its CSRF token.
func FuzzForms(f *testing.F) {
	r := newRig(f)
	r.Open(f, "db")
	r.Open(f, "web")
	console := r.srv.Config.Handler
	// Sign in once; every post goes with the session and its CSRF token.
	login := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"token": {adminToken}, "next": {"/incidents"}}.Encode()))
	login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	login.Header.Set("Sec-Fetch-Site", "same-origin")
	rec := httptest.NewRecorder()
	console.ServeHTTP(rec, login)
	if rec.Code != http.StatusSeeOther {
		f.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}
	cookies := rec.Result().Cookies()
	page := httptest.NewRequest(http.MethodGet, "/incidents/1", nil)
	for _, c := range cookies {
		page.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	console.ServeHTTP(rec, page)
	m := csrfField.FindStringSubmatch(rec.Body.String())
	if m == nil {
		f.Fatalf("no CSRF token on /incidents/1: %d %s", rec.Code, rec.Body)
	}
	csrf := m[1]

	paths := []string{
		"/incidents/1/ack", "/incidents/1/resolve", "/incidents/2/escalate", "/incidents/2/snooze",
		"/incidents/2/notes", "/incidents/2/assign", "/schedules/primary/overrides", "/schedules/primary/overrides/1/delete",
	}
	seeds := []string{
		"", "once=abc", "once=" + strings.Repeat("x", 300), "duration=30m", "duration=0", "duration=-1h", "duration=1000000h", "duration=x",
		"text=rolled+back&update=1", "text=", "user=bob", "user=bob&role=commander", "user=bob&role=scribe", "user=mallory",
		"user=alice&from=2026-12-01T09:00&to=2026-12-02T09:00", "user=alice&from=2026-12-02T09:00&to=2026-12-01T09:00",
		"user=alice&from=x&to=y", "user=alice&from=0001-01-01T00:00&to=9999-12-31T23:59", "%zz", "a=%",
	}
	for i := range paths {
		for _, seed := range seeds {
			f.Add(uint8(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, form string) {
		path := paths[int(which)%len(paths)]
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader("csrf="+url.QueryEscape(csrf)+"&"+form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		console.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s with %q: %d %s", path, form, rec.Code, rec.Body)
		}
	})
}
