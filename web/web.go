// Package web is Klaxon's console for responders: the incidents, an
// incident with its alerts and timeline and the buttons to act on it,
// who is on call, schedules with their overrides, and what users.yaml
// and the policies say. Pages are Go templates embedded in the binary,
// readable without JavaScript; a session is a signed cookie, and every
// form carries a CSRF token.
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/authlimit"
	"github.com/klaxonhq/klaxon/internal/httpstatus"
	"github.com/klaxonhq/klaxon/schedule"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// maxForm bounds a form's body.
const maxForm = 64 << 10

// How an act from the console is recorded on the timeline.
const How = "web"

// Incidents reads incidents: klaxon.Store's reads.
type Incidents interface {
	Incidents(ctx context.Context, f klaxon.IncidentFilter) ([]*klaxon.Incident, error)
	Incident(ctx context.Context, id string) (*klaxon.Incident, error)
	IncidentAlerts(ctx context.Context, id, cursor string, limit int) ([]klaxon.AlertState, string, error)
	Timeline(ctx context.Context, id string, offset, limit int) ([]klaxon.Event, int, error)
}

// Commander carries out the commands on incidents: the escalation
// engine.
type Commander interface {
	Act(ctx context.Context, a klaxon.Action, id string, who klaxon.Actor) (*klaxon.Incident, error)
	Snooze(ctx context.Context, id string, d time.Duration, who klaxon.Actor) (*klaxon.Incident, error)
	Note(ctx context.Context, id, text string, update bool, who klaxon.Actor) (*klaxon.Incident, error)
	Assign(ctx context.Context, id, role, user string, who klaxon.Actor) (*klaxon.Incident, error)
}

// View is one config as the console shows it: its users, policies and
// schedules, and who is on call in them.
type View interface {
	Users() []klaxon.User
	User(id string) (klaxon.User, bool)
	Policies() []klaxon.Policy
	// Names lists the schedules.
	Names() []string
	Schedule(name string) (*schedule.Schedule, bool)
	OnCall(ctx context.Context, schedule string, t time.Time) ([]string, error)
	Timeline(ctx context.Context, schedule string, from, to time.Time) (schedule.Timeline, error)
}

// Options are what the console serves from.
type Options struct {
	Incidents Incidents
	Commands  Commander
	Tokens    Tokens
	// View returns the current config; it is called once per request.
	View      func() View
	Overrides klaxon.OverrideStore
	// Key signs sessions and CSRF tokens: at least 32 bytes, the same on
	// every replica. Empty makes a random one: sessions then end when
	// the process does.
	Key []byte
	// Limiter counts failed sign-ins (default: one of the console's own).
	Limiter *authlimit.Limiter
	// SignedOut keeps the sessions signed out (nil: a sign-out only
	// makes the browser forget its cookie).
	SignedOut SignOuts
	// Secure says that responders reach the console over HTTPS (its
	// public_url is https): the session cookie is Secure whatever the
	// request says, also behind a proxy that ends TLS and sends no
	// X-Forwarded-Proto, except for a browser whose page is on plain
	// HTTP (a private listener), which would drop it. Otherwise it is
	// Secure when the request came over TLS or says it did.
	Secure bool
	// MaxOverride returns the longest runtime override accepted.
	MaxOverride func() time.Duration
	Now         func() time.Time
	Log         *slog.Logger
}

// Console is the web console, an http.Handler.
type Console struct {
	o     Options
	key   []byte
	log   *slog.Logger
	now   func() time.Time
	pages map[string]*template.Template
	mux   *http.ServeMux
	h     http.Handler
}

// New returns the console.
func New(o Options) (*Console, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Limiter == nil {
		o.Limiter = authlimit.New(o.Now)
	}
	if o.MaxOverride == nil {
		o.MaxOverride = func() time.Duration { return 366 * 24 * time.Hour }
	}
	key := o.Key
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // never fails (crypto/rand)
	} else if len(key) < 32 {
		return nil, fmt.Errorf("web console: a key of %d bytes, want at least 32", len(key))
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{o: o, key: key, log: o.Log.With("component", "web"), now: o.Now, pages: pages, mux: http.NewServeMux()}
	static, _ := fs.Sub(staticFiles, "static") // the folder is embedded
	c.mux.Handle("GET /static/{file}", http.StripPrefix("/static/", cacheFor(time.Hour, http.FileServerFS(static))))
	c.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/incidents", http.StatusSeeOther)
	})
	c.mux.HandleFunc("GET /login", c.login)
	c.mux.HandleFunc("POST /login", c.signIn)
	c.mux.HandleFunc("POST /logout", c.act(klaxon.ScopeRead, c.signOut))
	c.mux.HandleFunc("GET /incidents", c.read(c.incidents))
	c.mux.HandleFunc("GET /incidents/{id}", c.read(c.incident))
	c.mux.HandleFunc("POST /incidents/{id}/{command}", c.act(klaxon.ScopeAct, c.command))
	c.mux.HandleFunc("GET /incidents/{id}/review", c.read(c.review))
	c.mux.HandleFunc("GET /incidents/{id}/review.md", c.read(c.reviewFile))
	c.mux.HandleFunc("GET /report", c.read(c.report))
	c.mux.HandleFunc("GET /oncall", c.read(c.onCall))
	c.mux.HandleFunc("GET /schedules/{name}", c.read(c.schedule))
	c.mux.HandleFunc("POST /schedules/{name}/overrides", c.act(klaxon.ScopeAdmin, c.addOverride))
	c.mux.HandleFunc("POST /schedules/{name}/overrides/{id}/delete", c.act(klaxon.ScopeAdmin, c.removeOverride))
	c.mux.HandleFunc("GET /users", c.read(c.users))
	c.mux.HandleFunc("GET /policies", c.read(c.policies))
	c.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, nil, fmt.Errorf("no page %s: %w", r.URL.Path, klaxon.ErrNotFound))
	})
	// A form posted from another site is refused before any handler
	// reads it, whatever its cookie (Sec-Fetch-Site, else Origin); the
	// CSRF token is the second line, for browsers that send neither.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, nil, errForbidden("a form posted from another site"))
	}))
	c.h = cop.Handler(c.mux)
	return c, nil
}

// ServeHTTP serves the console, with the headers every page carries.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	c.h.ServeHTTP(w, r)
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(d/time.Second)))
		h.ServeHTTP(w, r)
	})
}

// read serves h to a signed-in reader, and sends anyone else to sign in,
// coming back to the page they asked for.
func (c *Console) read(h func(w http.ResponseWriter, r *http.Request, s *session, id *Identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, id, ok := c.signedIn(r)
		if !ok {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if !id.Can(klaxon.ScopeRead) {
			c.fail(w, r, id, errForbidden(fmt.Sprintf("%s lacks scope %q", id.Name, klaxon.ScopeRead)))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, s, id)
	}
}

// act serves a form post h to a signed-in identity with scope need whose
// form carries the session's CSRF token.
func (c *Console) act(need klaxon.Scope, h func(w http.ResponseWriter, r *http.Request, s *session, id *Identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		s, id, ok := c.signedIn(r)
		switch {
		case !ok:
			c.fail(w, r, nil, fmt.Errorf("sign in first: %w", klaxon.ErrUnauthorized))
		case !c.checkCSRF(r, s):
			c.fail(w, r, id, errForbidden("the form's CSRF token is missing or wrong: reload the page and try again"))
		case !id.Can(need):
			c.fail(w, r, id, errForbidden(fmt.Sprintf("%s lacks scope %q", id.Name, need)))
		default:
			h(w, r, s, id)
		}
	}
}

// forbidden is a refusal of a signed-in identity, or of a forged form.
type forbidden string

func (f forbidden) Error() string   { return string(f) }
func errForbidden(msg string) error { return forbidden(msg) }

// page is what every template gets.
type page struct {
	Title string
	// Nav is the section of the menu the page is in.
	Nav  string
	Me   *Identity
	CSRF string
	// Refresh makes the page reload itself while it is shown.
	Refresh bool
	Data    any
}

// render writes template name with p at status. It renders into a buffer
// first, so that a failed render is a clean 500.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	var b bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&b, "layout", p); err != nil {
		c.log.ErrorContext(r.Context(), "render", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// show renders a page of a signed-in identity.
func (c *Console) show(w http.ResponseWriter, r *http.Request, s *session, id *Identity, name string, p page) {
	p.Me, p.CSRF = id, c.csrf(s)
	c.render(w, r, http.StatusOK, name, p)
}

type errorPage struct {
	Status int
	Text   string
}

// fail answers err as a page: the one place errors become a status.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, id *Identity, err error) {
	status := httpstatus.Of(err)
	var f forbidden
	if errors.As(err, &f) {
		status = http.StatusForbidden
	}
	text := err.Error()
	if status >= 500 {
		// What failed inside is for the log, not for the page.
		c.log.ErrorContext(r.Context(), "request", "status", status, "err", err)
		text = "Klaxon could not do this just now; try again."
		if status == http.StatusServiceUnavailable {
			text = "Klaxon's store cannot be reached or cannot write just now; try again."
		}
	}
	c.render(w, r, status, "error", page{Title: http.StatusText(status), Me: id, Data: errorPage{Status: status, Text: text}})
}
