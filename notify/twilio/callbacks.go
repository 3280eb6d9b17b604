package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/httpstatus"
	"github.com/klaxonhq/klaxon/internal/logthin"
)

// CallbackPaths are the paths of Twilio's callbacks, which Callbacks
// serves.
var CallbackPaths = []string{SMSPath, VoicePath, StatusPath}

// CallbackAuth is what checks Twilio's callbacks: the account's auth
// token and Klaxon's public URL, which Twilio signs.
type CallbackAuth struct {
	AuthToken string
	PublicURL string
}

// Responder carries out what a responder asks from their phone, and
// records what Twilio reports of a page.
type Responder interface {
	// Act carries out action a on incident id for who.
	Act(ctx context.Context, a klaxon.Action, id string, who klaxon.Actor) (*klaxon.Incident, error)
	// Note records a note by who on incident id.
	Note(ctx context.Context, id, text string, update bool, who klaxon.Actor) (*klaxon.Incident, error)
	// Delivery records that notification n of incident id reached its
	// person (ok) or not.
	Delivery(ctx context.Context, id string, n int, ok bool, detail string) error
	// PagedTo lists the open incidents that paged user by before,
	// latest page first, and those that paged user only after it.
	PagedTo(ctx context.Context, user string, before time.Time) (paged, later []*klaxon.Incident, err error)
}

// Incidents reads the incident a call is about.
type Incidents interface {
	Incident(ctx context.Context, id string) (*klaxon.Incident, error)
}

// Phonebook finds the user a phone number belongs to.
type Phonebook interface {
	UserByPhone(phone string) (klaxon.User, bool)
}

// Memory remembers the callbacks acted on, durably and across replicas,
// so that a callback delivered again (a replay of a signed request, or
// Twilio's own retry) acts once. (A mail link's use is kept on its
// incident instead: see klaxon.Actor.Once.) FirstTime records key and
// reports whether it was not recorded yet; Remembered only reads.
type Memory interface {
	FirstTime(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error)
	Remembered(ctx context.Context, key string, now time.Time) (bool, error)
}

// CallbackOptions are what Callbacks serves from.
type CallbackOptions struct {
	// Auth returns what checks the callbacks, nil when Twilio is not
	// configured; it is read per request, so a reload applies.
	Auth      func() *CallbackAuth
	Responder Responder
	Incidents Incidents
	// Phonebook finds who replies by SMS or answers a call.
	Phonebook Phonebook
	// Memory remembers the callbacks acted on; nil remembers none.
	Memory Memory
	// Ended, if set, is told that the call of notification n of
	// incident id ended, on its final status (completed, busy,
	// no-answer, failed, canceled): its person may get the next call.
	Ended func(id string, n int)
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Callbacks serves Twilio's signed callbacks: SMS replies, the TwiML and
// key presses of page calls, and delivery reports. A callback that is
// not signed as Twilio signs it gets 403 and changes nothing; without
// Twilio configured, every callback gets 404.
type Callbacks struct {
	o   CallbackOptions
	log *slog.Logger
	mux *http.ServeMux
	// refused thins out the log lines of forged callbacks.
	refused *logthin.Thinner
}

var _ http.Handler = (*Callbacks)(nil)

// NewCallbacks returns the handler of Twilio's callbacks, at
// CallbackPaths.
func NewCallbacks(o CallbackOptions) *Callbacks {
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Callbacks{o: o, log: o.Log.With("component", "twilio"), mux: http.NewServeMux(), refused: logthin.New(o.Now)}
	c.mux.HandleFunc("POST "+SMSPath, c.sms)
	c.mux.HandleFunc("POST "+VoicePath, c.voice)
	c.mux.HandleFunc("POST "+StatusPath, c.status)
	return c
}

// ServeHTTP serves a callback.
func (c *Callbacks) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// callbackMemory is how long a callback that acts (an SMS reply, a key
// press) is remembered: Twilio's signature has no timestamp, so a
// replay is refused for this long. A bare reply ("R", "AA") acts on
// the latest pages to the phone, whatever they are by then, so the
// memory is long: a month, of replies, which are few.
const callbackMemory = 30 * 24 * time.Hour

// reportMemory is how long a page's final report (delivered, failed) is
// remembered: a replay of one, moved to another page of the incident
// (see signedKey), would move its person on to their next contact method.
// Reports are many, one a page, and a page's next rules are due within
// the hour, so a day.
const reportMemory = 24 * time.Hour

// firstTime reports whether the callback key is acted on for the first
// time; on an error it answers 503 (Twilio retries) and reports false.
func (c *Callbacks) firstTime(w http.ResponseWriter, r *http.Request, key string, ttl time.Duration) (first, ok bool) {
	first, err := c.firstOf(r, ttl, key)
	if err != nil {
		c.fail(w, r, fmt.Errorf("twilio callback: %w", err))
		return false, false
	}
	if !first {
		c.log.WarnContext(r.Context(), "twilio callback delivered again; not acted on", "callback", key)
	}
	return first, true
}

// firstOf records keys in the memory of callbacks for ttl (none: every
// one is new), and reports whether the first was new there.
func (c *Callbacks) firstOf(r *http.Request, ttl time.Duration, keys ...string) (bool, error) {
	if c.o.Memory == nil {
		return true, nil
	}
	first := true
	for i, key := range keys {
		isNew, err := c.o.Memory.FirstTime(r.Context(), key, c.o.Now(), ttl)
		if err != nil {
			return false, err
		}
		if i == 0 {
			first = isNew
		}
	}
	return first, nil
}

// remembered reports whether the callback key was recorded (see
// Memory); it has answered the request when ok is false.
func (c *Callbacks) remembered(w http.ResponseWriter, r *http.Request, key string) (seen, ok bool) {
	if c.o.Memory == nil {
		return false, true
	}
	seen, err := c.o.Memory.Remembered(r.Context(), key, c.o.Now())
	if err != nil {
		c.fail(w, r, fmt.Errorf("twilio callback: %w", err))
		return false, false
	}
	if seen {
		c.log.WarnContext(r.Context(), "twilio callback delivered again; not acted on", "callback", key)
	}
	return seen, true
}

// person reports whether a call was answered by a person, by its
// AnsweredBy: a machine (machine_start, machine_end_beep...) or a fax
// heard nothing it could act on. "" is a call without detection, or
// one it could not tell: taken for a person.
func person(answeredBy string) bool {
	return !strings.HasPrefix(answeredBy, "machine") && answeredBy != "fax"
}

// answeredBy is the timeline's word for a call person says no person
// answered.
func answeredBy(answeredBy string) string {
	if answeredBy == "fax" {
		return "fax"
	}
	return "answering machine"
}

// form checks a callback's signature and returns the auth in force and
// the callback's form; it has answered the request when ok is false.
func (c *Callbacks) form(w http.ResponseWriter, r *http.Request) (auth *CallbackAuth, form url.Values, ok bool) {
	if c.o.Auth != nil {
		auth = c.o.Auth()
	}
	if auth == nil {
		writeJSONError(w, http.StatusNotFound, "Twilio is not configured (notify.twilio)")
		return nil, nil, false
	}
	form, err := Validate(r, auth.PublicURL, auth.AuthToken)
	if err != nil {
		if errors.Is(err, klaxon.ErrUnauthorized) {
			// Anyone can forge one, by the thousand: thinned.
			if ok, unlogged := c.refused.Let(); ok {
				c.log.WarnContext(r.Context(), "twilio callback refused", "path", r.URL.Path, "err", err, "unlogged", unlogged)
			}
		}
		c.fail(w, r, err)
		return nil, nil, false
	}
	return auth, form, true
}

// pageCallback checks a voice or status callback and reads the incident
// and notification it is about, from its query; it has answered the
// request when ok is false.
func (c *Callbacks) pageCallback(w http.ResponseWriter, r *http.Request) (auth *CallbackAuth, form url.Values, id string, n int, ok bool) {
	if auth, form, ok = c.form(w, r); !ok {
		return nil, nil, "", 0, false
	}
	id = r.URL.Query().Get("incident")
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if id == "" || err != nil {
		c.fail(w, r, klaxon.Invalid("", "callback without incident and n"))
		return nil, nil, "", 0, false
	}
	return auth, form, id, n, true
}

// emptyTwiML answers a callback with nothing to say or play.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// twimlTo returns a function that answers with the TwiML a builder
// returns, or with nothing when it failed.
func (c *Callbacks) twimlTo(w http.ResponseWriter, r *http.Request) func(string, error) {
	return func(twiml string, err error) {
		if err != nil {
			c.log.ErrorContext(r.Context(), "render twiml", "err", err)
			twiml = emptyTwiML
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write([]byte(twiml))
	}
}

// status records a message's or call's final status on the timeline; a
// page that did not reach its person moves on to their next contact
// method at once.
func (c *Callbacks) status(w http.ResponseWriter, r *http.Request) {
	auth, form, id, n, ok := c.pageCallback(w, r)
	if !ok {
		return
	}
	status := form.Get("MessageStatus")
	if status == "" {
		status = form.Get("CallStatus")
	}
	reached, final := true, true
	detail := status
	switch status {
	case "delivered":
	case "completed":
		if by := form.Get("AnsweredBy"); !person(by) {
			reached, detail = false, answeredBy(by)
		}
	case "failed", "undelivered", "busy", "no-answer", "canceled":
		reached = false
		if code := form.Get("ErrorCode"); code != "" {
			detail += " (error " + code + ")"
		}
	default:
		final = false // queued, sent, ringing, in-progress: more to come
	}
	if final && form.Get("CallStatus") != "" && c.o.Ended != nil {
		// Ended, whether the report is recorded or not: told again (a
		// copy, a retry), it changes nothing more. A call that reached
		// its person is told once its report is recorded, or failed to
		// be: its page, whose placing may have failed (a timeout), then
		// leaves the outbox before the throttle frees the person, and
		// its retry does not call them again meanwhile.
		if reached {
			defer c.o.Ended(id, n)
		} else {
			c.o.Ended(id, n)
		}
	}
	if final {
		// Remembered only once recorded: a report answered 503 is sent
		// again by Twilio, and must then be recorded. A copy that comes
		// while this one is recorded is the same report of the same
		// pages, which the responder records once.
		key := "status:" + signedKey(r, auth.PublicURL)
		seen, ok := c.remembered(w, r, key)
		if !ok {
			return
		}
		if seen {
			w.WriteHeader(http.StatusNoContent) // recorded already
			return
		}
		// A bundle's report is every page's it stood for.
		pages := []klaxon.PageRef{{Incident: id, Notification: n}}
		for _, v := range r.URL.Query()["also"] {
			i := strings.LastIndexByte(v, '.')
			if i <= 0 {
				continue
			}
			inc, num := v[:i], v[i+1:]
			if k, err := strconv.Atoi(num); err == nil {
				pages = append(pages, klaxon.PageRef{Incident: inc, Notification: k})
			}
		}
		for _, p := range pages {
			if err := c.o.Responder.Delivery(r.Context(), p.Incident, p.Notification, reached, detail); err != nil && !errors.Is(err, klaxon.ErrNotFound) {
				c.fail(w, r, err)
				return
			}
		}
		if c.o.Memory != nil {
			if _, err := c.o.Memory.FirstTime(r.Context(), key, c.o.Now(), reportMemory); err != nil {
				c.fail(w, r, fmt.Errorf("twilio callback: %w", err)) // sent again, it changes nothing more
				return
			}
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// fail answers a callback that could not be served, with the status
// Twilio acts on: 403 for a forged callback, 503 (Twilio tries again)
// when the store cannot read or write. It logs the server's faults, once.
// The body is JSON as the API's errors are, for a person testing by
// hand; Twilio reads none.
func (c *Callbacks) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if code >= http.StatusInternalServerError {
		c.log.ErrorContext(r.Context(), "twilio callback", "status", code, "err", err)
	}
	writeJSONError(w, code, err.Error())
}

// status maps an error to the status of a callback's answer: as at
// every HTTP edge, but for a forged callback, which is 403.
func status(err error) int {
	if errors.Is(err, klaxon.ErrUnauthorized) {
		return http.StatusForbidden
	}
	return httpstatus.Of(err)
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg}) // the client went away; nothing to do
}
