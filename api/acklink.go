package api

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/email"
	"github.com/klaxonhq/klaxon/notify/twilio"
)

// The mail links: GET shows what the link would do and a button; only
// the POST of that button acts, so a mail scanner that follows links
// acknowledges nothing. A link acts once, only while the incident is in
// the walk whose page it came with, and until it expires: a link used
// or mailed before the incident triggered again changes nothing (410).

var ackPage = template.Must(template.New("ack").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>Klaxon #{{.ID}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
button{font-size:1.2rem;padding:.6rem 1.4rem}</style></head><body>
<h1>Incident #{{.ID}}</h1>
<p><strong>{{.Severity}}</strong> {{.Summary}}</p>
<p>State: {{.State}}{{if .Done}}. {{.Done}}{{end}}</p>
{{if .Verb}}<form method="post"><button type="submit">{{.Verb}} as {{.User}}</button></form>{{end}}
{{if .Problem}}<p>{{.Problem}}</p>{{end}}
</body></html>
`))

type ackView struct {
	ID, Severity, Summary, State string
	User, Verb, Done, Problem    string
}

func (s *Server) ackRoutes() {
	s.handle(GroupAck, "GET "+email.AckPath+"{token}", s.ackLink)
	s.handle(GroupAck, "POST "+email.AckPath+"{token}", s.ackLink)
}

// ackLink serves the signed links of mail pages.
func (s *Server) ackLink(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if s.o.Links == nil {
		s.ackPage(w, http.StatusNotFound, ackView{Problem: "Mail links are not configured on this Klaxon."})
		return
	}
	claims, err := s.o.Links.Verify(r.PathValue("token"))
	if err != nil {
		if wait := s.failures.fail(r); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
			s.ackPage(w, http.StatusTooManyRequests, ackView{Problem: "Too many links that could not be used, from this address: try again later."})
			return
		}
		code := http.StatusBadRequest
		var expired *email.ExpiredError
		switch {
		case errors.As(err, &expired):
			code = http.StatusGone
		case errors.Is(err, klaxon.ErrUnauthorized):
			code = http.StatusForbidden
		}
		s.ackPage(w, code, ackView{Problem: "This link cannot be used: " + err.Error() + "."})
		return
	}
	inc, err := s.o.Store.Incident(r.Context(), claims.Incident)
	if err != nil {
		s.ackPage(w, status(err), ackView{Problem: err.Error()})
		return
	}
	verb := map[string]string{email.ActionAck: "Acknowledge", email.ActionResolve: "Resolve"}[claims.Action]
	action := map[string]twilio.Action{email.ActionAck: twilio.ActionAck, email.ActionResolve: twilio.ActionResolve}[claims.Action]
	v := ackView{ID: inc.ID, Severity: inc.Severity, Summary: inc.Summary, State: string(inc.State), User: claims.User, Verb: verb}
	if claims.Page <= inc.WalkFrom {
		// The incident triggered again since this link's page: the link
		// was for the incident as it was then.
		v.Verb, v.Problem = "", "This link came with a page sent before the incident triggered again: it no longer acts. Use the link of its latest page."
		s.ackPage(w, http.StatusGone, v)
		return
	}
	if r.Method != http.MethodPost {
		// GET (and the HEAD that the GET route also serves, which mail
		// scanners send) only shows the page: only POST acts.
		s.ackPage(w, http.StatusOK, v)
		return
	}
	// A link acts once: the store remembers it, across restarts and
	// replicas, until it expires.
	if s.o.Callbacks != nil {
		now := s.o.Now()
		key := "link:" + claims.Incident + ":" + strconv.Itoa(claims.Page) + ":" + claims.User + ":" + claims.Action
		first, err := s.o.Callbacks.FirstTime(r.Context(), key, now, claims.Expires.Sub(now)+time.Minute)
		if err != nil {
			v.Verb, v.Problem = "", "Nothing was done: "+err.Error()+"."
			s.ackPage(w, status(err), v)
			return
		}
		if !first {
			v.Verb, v.Problem = "", "This link was used already: it acts once. Nothing was done."
			s.ackPage(w, http.StatusGone, v)
			return
		}
	}
	got, err := s.act(r.Context(), action, inc.ID, claims.User, "email")
	if err != nil {
		v.Verb, v.Problem = "", "Nothing was done: "+err.Error()+"."
		s.ackPage(w, status(err), v)
		return
	}
	v.State, v.Verb, v.Done = string(got.State), "", "Done, by "+claims.User+"."
	s.ackPage(w, http.StatusOK, v)
}

func (s *Server) ackPage(w http.ResponseWriter, code int, v ackView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := ackPage.Execute(w, v); err != nil {
		s.log.Error("render ack page", "err", err)
	}
}
