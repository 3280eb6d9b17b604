package api

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify/email"
)

// The mail links: GET shows what the link would do and a button; only
// the POST of that button acts, so a mail scanner that follows links
// acknowledges nothing. A link acts once, only while the incident is in
// the walk whose page it came with, only while its user is one of the
// config's, and until it expires. A link used, or mailed before the
// incident triggered again, changes nothing (410), and GET says so
// rather than showing the button; so does one past its expiry. A link
// of a user since removed from the users file is refused (403); one of
// an incident resolved meanwhile has nothing left to do (409). The use
// is recorded in the commit that acts (Actor.Once), so an act that
// failed, like one on a store that cannot write, leaves the link usable.

var ackPage = template.Must(template.New("ack").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>Klaxon #{{.ID}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
button{font-size:1.2rem;padding:.6rem 1.4rem}</style></head><body>
<h1>{{if .ID}}Incident #{{.ID}}{{else}}Klaxon{{end}}</h1>
{{if .State}}<p><strong>{{.Severity}}</strong> {{.Summary}}</p>
<p>State: {{.State}}{{if .Done}}. {{.Done}}{{end}}</p>{{end}}
{{if .Verb}}<form method="post"><button type="submit">{{.Verb}} as {{.User}}</button></form>{{end}}
{{if .Problem}}<p>{{.Problem}}</p>{{end}}
{{if .View}}<p><a href="{{.View}}">Open incident #{{.ID}} in Klaxon</a></p>{{end}}
</body></html>
`))

type ackView struct {
	ID, Severity, Summary, State string
	User, Verb, Done, Problem    string
	// View is the incident's page in the console, where one can act,
	// relative to the link's page (ackToRoot).
	View string
}

// ackToRoot leads from a link's page to Klaxon's root: "../../". The
// pages of links link relative to their own address, which is the mail's
// link, under public_url: with public_url under a path
// (https://example.com/klaxon, behind a proxy that takes it off), a link
// to "/incidents/42" would leave Klaxon. The form posts to the page's own
// address, as it has no action.
var ackToRoot = strings.Repeat("../", strings.Count(email.AckPath, "/")-1)

func (s *Server) ackRoutes() {
	s.handle(GroupAck, "GET "+email.AckPath+"{token}", s.ackLink)
	s.handle(GroupAck, "POST "+email.AckPath+"{token}", s.ackLink)
}

// ackLink serves the signed links of mail pages.
func (s *Server) ackLink(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if s.o.Links == nil {
		s.ackPage(w, r, http.StatusNotFound, ackView{Problem: "Mail links are not configured on this Klaxon."})
		return
	}
	claims, err := s.o.Links.Verify(r.PathValue("token"))
	var expired *email.ExpiredError
	if err != nil && !errors.As(err, &expired) {
		// A link of a bad signature is a guess; an expired one was
		// signed by Klaxon (checked first), and opening it guesses
		// nothing: a responder going through the night's mails, or a
		// mail scanner, must not lock their address out of the API.
		if wait := s.failures.Fail(r); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
			s.ackPage(w, r, http.StatusTooManyRequests, ackView{Problem: "Too many links that could not be used, from this address: try again later."})
			return
		}
	}
	switch {
	case expired != nil:
		id := expired.Claims.Incident
		s.ackPage(w, r, http.StatusGone, ackView{ID: id, View: ackToRoot + klaxon.IncidentPath[1:] + url.PathEscape(id),
			Problem: "This link expired at " + expired.At.UTC().Format("2006-01-02 15:04 MST") + ": the links of a page mail work for " +
				hours(s.o.Links.TTL()) + ". Nothing was done."})
		return
	case err != nil:
		code := http.StatusBadRequest
		if errors.Is(err, klaxon.ErrUnauthorized) {
			code = http.StatusForbidden
		}
		s.ackPage(w, r, code, ackView{Problem: "This link is not whole, or was changed: it cannot be used. " +
			"Open the whole link from the mail (a mail app may cut a long one), or the incident in Klaxon. Nothing was done."})
		return
	}
	if s.o.Users != nil {
		if _, ok := s.o.Users.User(claims.User); !ok {
			s.ackPage(w, r, http.StatusForbidden, ackView{ID: claims.Incident,
				Problem: "This link was mailed to " + claims.User + ", who is no longer a Klaxon user: it no longer acts. Nothing was done."})
			return
		}
	}
	inc, err := s.o.Store.Incident(r.Context(), claims.Incident)
	if err != nil {
		s.ackFailed(w, r, ackView{ID: claims.Incident}, err)
		return
	}
	verb := map[string]string{email.ActionAck: "Acknowledge", email.ActionResolve: "Resolve"}[claims.Action]
	action := map[string]klaxon.Action{email.ActionAck: klaxon.ActionAck, email.ActionResolve: klaxon.ActionResolve}[claims.Action]
	v := ackView{ID: inc.ID, Severity: inc.Severity, Summary: inc.Summary, State: string(inc.State), User: claims.User, Verb: verb}
	if claims.Page <= inc.WalkFrom {
		// The incident triggered again since this link's page: the link
		// was for the incident as it was then. (The act checks it again,
		// in its commit.)
		v.Verb, v.Problem = "", outdatedLink
		s.ackPage(w, r, http.StatusGone, v)
		return
	}
	// A link acts once: the incident records it in the commit that acts.
	once := "link:" + strconv.Itoa(claims.Page) + ":" + claims.User + ":" + claims.Action
	if slices.Contains(inc.Once, once) {
		v.Verb, v.Problem = "", usedLink
		s.ackPage(w, r, http.StatusGone, v)
		return
	}
	if inc.State == klaxon.StateResolved {
		// Nothing left to do: no button that could only answer so.
		by := ""
		if inc.ResolvedBy != "" {
			by = " by " + inc.ResolvedBy
		}
		v.Verb, v.Problem = "", "This incident was resolved"+by+" at "+inc.ResolvedAt.UTC().Format("2006-01-02 15:04 MST")+": there is nothing left to do. Nothing was done."
		s.ackPage(w, r, http.StatusConflict, v)
		return
	}
	if r.Method != http.MethodPost {
		// GET (and the HEAD that the GET route also serves, which mail
		// scanners send) only shows the page: only POST acts.
		s.ackPage(w, r, http.StatusOK, v)
		return
	}
	got, err := s.o.Commands.Act(r.Context(), action, inc.ID, klaxon.Actor{By: claims.User, How: "email", Once: once, Page: claims.Page})
	switch {
	case errors.Is(err, klaxon.ErrUsed):
		// Another request with this link acted first.
		v.Verb, v.Problem = "", usedLink
		s.ackPage(w, r, http.StatusGone, v)
		return
	case errors.Is(err, klaxon.ErrOutdated):
		// The incident triggered again since the read above.
		v.Verb, v.Problem = "", outdatedLink
		s.ackPage(w, r, http.StatusGone, v)
		return
	case err != nil:
		s.ackFailed(w, r, v, err)
		return
	}
	v.State, v.Verb, v.Done = string(got.State), "", "Done, by "+claims.User+"."
	s.ackPage(w, r, http.StatusOK, v)
}

// hours says d, a whole number of hours or not, as people do.
func hours(d time.Duration) string {
	if d%time.Hour == 0 {
		if d == time.Hour {
			return "1 hour"
		}
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	}
	return d.String()
}

const (
	usedLink     = "This link was used already: it acts once. Nothing was done."
	outdatedLink = "This link came with a page sent before the incident triggered again: it no longer acts. Use the link of its latest page."
)

// ackFailed answers a link whose incident could not be read or acted on.
// On the server's fault (a store that is down or cannot write) nothing
// was done and the link was not used: the page keeps its button, says to
// try again, and does not show the error, which is logged.
func (s *Server) ackFailed(w http.ResponseWriter, r *http.Request, v ackView, err error) {
	code := status(err)
	if code < http.StatusInternalServerError {
		v.Verb, v.Problem = "", "Nothing was done: "+err.Error()+"."
		s.ackPage(w, r, code, v)
		return
	}
	s.log.ErrorContext(r.Context(), "mail link", "incident", v.ID, "status", code, "err", err)
	retryAfter(w, code)
	v.Problem = "Klaxon could not do it just now, so nothing was done; the link still works: try again in a moment."
	s.ackPage(w, r, code, v)
}

func (s *Server) ackPage(w http.ResponseWriter, r *http.Request, code int, v ackView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := ackPage.Execute(w, v); err != nil {
		s.log.ErrorContext(r.Context(), "render ack page", "err", err)
	}
}
