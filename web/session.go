package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/config"
)

// Sessions are signed cookies: the console keeps nothing per session
// signed in, so any replica serves any session. A session names who
// signed in and a fingerprint of the token they signed in with; it ends
// when it expires, when they sign out, or when that token is changed or
// removed from the config, whichever comes first. Signing out is kept in
// the store (Options.SignedOut) until the session would have expired, so
// that a copy of the cookie taken before signs in no more, on any
// replica.
const (
	cookieName = "klaxon_session"
	// sessionLife is how long a sign-in lasts: a responder who opens a
	// page's link at night is not asked for a token again.
	sessionLife = 14 * 24 * time.Hour
	csrfField   = "csrf"
)

// Identity kinds: an API token (api.tokens), or a user signing in with
// their own web token (users.yaml web_token).
const (
	KindToken = "token"
	KindUser  = "user"
)

// Identity is who is signed in: the name that acts in the timeline (a
// token's name, a user's ID), what to call them, and the widest scope
// they hold now.
type Identity struct {
	Kind, Name string
	// Display is the user's name, or Name.
	Display string
	Scope   klaxon.Scope
}

// Can reports whether the identity holds scope need.
func (id *Identity) Can(need klaxon.Scope) bool { return id != nil && id.Scope.Includes(need) }

// Tokens signs people in against the current config.
type Tokens interface {
	// SignIn returns who token signs in as.
	SignIn(token string) (Identity, bool)
	// Current returns identity kind/name as the config has it now, and the
	// token it signs in with; false when there is none.
	Current(kind, name string) (Identity, string, bool)
}

// session is what the cookie holds.
type session struct {
	Kind    string `json:"k"`
	Name    string `json:"n"`
	Token   string `json:"t"` // fingerprint of the token signed in with
	Expires int64  `json:"e"`
	ID      string `json:"s"` // random; the CSRF token is derived from it
}

// mac returns the HMAC-SHA256 of the parts under the console's key, each
// prefixed with its length so that no two lists of parts collide.
func (c *Console) mac(parts ...string) []byte {
	h := hmac.New(sha256.New, c.key)
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p)) + ":" + p))
	}
	return h.Sum(nil)
}

func (c *Console) fingerprint(token string) string {
	return hex.EncodeToString(c.mac("token", token)[:16])
}

// csrf is the token a form of session s carries.
func (c *Console) csrf(s *session) string {
	return base64.RawURLEncoding.EncodeToString(c.mac("csrf", s.ID))
}

// encode signs s as a cookie value: payload "." signature.
func (c *Console) encode(s session) string {
	b, _ := json.Marshal(s) // a struct of strings and a number
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(c.mac("session", payload))
}

// decode checks a cookie value's signature and expiry.
func (c *Console) decode(v string) (session, bool) {
	var s session
	payload, sig, ok := strings.Cut(v, ".")
	if !ok {
		return s, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, c.mac("session", payload)) {
		return s, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(b, &s) != nil {
		return s, false
	}
	return s, c.now().Unix() < s.Expires
}

// signedIn returns the session of r and who it is now, or false.
func (c *Console) signedIn(r *http.Request) (*session, *Identity, bool) {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil, nil, false
	}
	s, ok := c.decode(ck.Value)
	if !ok {
		return nil, nil, false
	}
	if !signsIn(r, s.Kind) {
		return nil, nil, false
	}
	id, token, ok := c.o.Tokens.Current(s.Kind, s.Name)
	if !ok || subtle.ConstantTimeCompare([]byte(c.fingerprint(token)), []byte(s.Token)) != 1 {
		return nil, nil, false
	}
	if c.o.SignedOut != nil {
		out, err := c.o.SignedOut.Remembered(r.Context(), signedOutKey(s), c.now())
		if err != nil {
			// The store does not answer: nothing that needs it works
			// either, and who is on call still shows.
			c.log.WarnContext(r.Context(), "read whether a session signed out: taken as signed in", "err", err)
		} else if out {
			return nil, nil, false
		}
	}
	return &s, &id, true
}

// SignOuts remembers the sessions signed out, durably and across
// replicas, each until it would have expired (a store's callbacks'
// memory: see store/storetest).
type SignOuts interface {
	FirstTime(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error)
	Remembered(ctx context.Context, key string, now time.Time) (bool, error)
}

// signedOutKey is what SignOuts keeps of session s signed out.
func signedOutKey(s session) string { return "signout:" + s.ID }

// setSession signs id in on w, for a request of r.
func (c *Console) setSession(w http.ResponseWriter, r *http.Request, id Identity, token string) {
	var sid [16]byte
	_, _ = rand.Read(sid[:]) // never fails (crypto/rand)
	s := session{Kind: id.Kind, Name: id.Name, Token: c.fingerprint(token), Expires: c.now().Add(sessionLife).Unix(), ID: hex.EncodeToString(sid[:])}
	http.SetCookie(w, c.cookie(r, c.encode(s), sessionLife))
}

// cookie is the session cookie: HttpOnly, SameSite=Lax, and Secure when
// the request came over TLS (or through a proxy that says it did), or
// the console is public over HTTPS (Options.Secure) unless the browser
// says that its page is on plain HTTP.
func (c *Console) cookie(r *http.Request, value string, life time.Duration) *http.Cookie {
	return &http.Cookie{
		Name: cookieName, Value: value, Path: "/",
		MaxAge: int(life / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") || c.o.Secure && !fromPlainHTTP(r),
	}
}

// fromPlainHTTP reports whether the browser sent r from a page on plain
// HTTP (its Origin, which every browser sends with a form's POST): a
// private listener's console, say. That browser drops a Secure cookie
// set in answer, and sent the token in the clear already.
func fromPlainHTTP(r *http.Request) bool {
	u, err := url.Parse(r.Header.Get("Origin"))
	return err == nil && strings.EqualFold(u.Scheme, "http") && u.Host != ""
}

// checkCSRF reports whether a form posted in session s carries its
// token.
func (c *Console) checkCSRF(r *http.Request, s *session) bool {
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue(csrfField)), []byte(c.csrf(s))) == 1
}

// localPath returns next when it is a path on this site, "/" otherwise:
// the sign-in form never sends anyone elsewhere.
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	// Browsers drop tabs and newlines from a URL and read \ as /, so
	// "/\t/evil.example" would leave the site.
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	return next
}

type loginPage struct {
	Next, Error string
}

// login serves GET /login: the sign-in form.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := c.signedIn(r); ok {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: loginPage{Next: localPath(r.URL.Query().Get("next"))}})
}

// signIn serves POST /login: a token for a session. A wrong token counts
// against the client's address, as the API counts it.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := localPath(r.PostFormValue("next"))
	// Over the limit, no token is even compared: a guesser learns
	// nothing more until the window ends.
	wait := c.o.Limiter.Blocked(r)
	id, ok := Identity{}, false
	if wait == 0 {
		if id, ok = c.o.Tokens.SignIn(token); !ok || !signsIn(r, id.Kind) {
			ok, wait = false, c.o.Limiter.Fail(r)
		}
	}
	if !ok {
		status, msg := http.StatusUnauthorized, "That token is not one Klaxon knows."
		if wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
			status, msg = http.StatusTooManyRequests, "Too many failed sign-ins from this address: try again in a minute."
		}
		c.render(w, r, status, "login", page{Title: "Sign in", Data: loginPage{Next: next, Error: msg}})
		return
	}
	c.setSession(w, r, id, token)
	c.log.InfoContext(r.Context(), "signed in", "kind", id.Kind, "name", id.Name)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signsIn reports whether an identity of kind signs in to the console
// through the listener that took r: an API token only where the API is
// served too. A public listener that serves the console and not the API
// takes users' web tokens only, so that an API token (an admin's, with
// act_as) that leaked is no way in from where the API is not reachable.
func signsIn(r *http.Request, kind string) bool {
	return kind != KindToken || config.Served(r.Context(), config.ServeAPI)
}

// signOut serves POST /logout: the browser forgets the cookie, and the
// store keeps that the session signed out, for a copy of it.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s *session, id *Identity) {
	http.SetCookie(w, c.cookie(r, "", -time.Second))
	if c.o.SignedOut != nil {
		now := c.now()
		// At least a second: a session in its last instant is still
		// one to end, and a store refuses a record that ends at once.
		ttl := max(time.Unix(s.Expires, 0).Sub(now), time.Second)
		if _, err := c.o.SignedOut.FirstTime(r.Context(), signedOutKey(*s), now, ttl); err != nil {
			c.fail(w, r, id, fmt.Errorf("sign out: %w", err))
			return
		}
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
