package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/httpstatus"
	"github.com/klaxonhq/klaxon/internal/logthin"
)

// Callback paths: Slack's interactivity request URL, and the /klaxon
// slash command's.
const (
	InteractionsPath = "/v1/slack/interactions"
	CommandsPath     = "/v1/slack/commands"
)

// CallbackPaths are the paths of Slack's callbacks, which Callbacks
// serves.
var CallbackPaths = []string{InteractionsPath, CommandsPath}

// How is the Actor.How of acts from Slack.
const How = "slack"

// Responder carries out what a responder asks from Slack.
type Responder interface {
	// Act carries out action a on incident id for who.
	Act(ctx context.Context, a klaxon.Action, id string, who klaxon.Actor) (*klaxon.Incident, error)
	// Note records a note by who on incident id.
	Note(ctx context.Context, id, text string, update bool, who klaxon.Actor) (*klaxon.Incident, error)
	// OnCall says who is on call now: in schedule, or in every schedule
	// when schedule is "". The text is for people, one line per
	// schedule.
	OnCall(ctx context.Context, schedule string) (string, error)
}

// Memory remembers the callbacks acted on, durably and across replicas,
// so that a signed request sent again acts once. Klaxon's stores
// implement it, as for Twilio's callbacks.
type Memory interface {
	FirstTime(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error)
}

// CallbackOptions are what Callbacks serves from.
type CallbackOptions struct {
	// SigningSecret returns the Slack app's signing secret, "" when
	// Slack is not configured; it is read per request, so a reload
	// applies.
	SigningSecret func() string
	Responder     Responder
	// Users returns the Klaxon user whose Slack user ID is slackID; ok
	// is false for a Slack user who is none, and cannot act.
	Users func(slackID string) (user string, ok bool)
	// Memory remembers the callbacks acted on; nil remembers none.
	Memory Memory
	// HTTPClient posts answers to a button press's response_url; nil is
	// a client with a 2 s timeout.
	HTTPClient *http.Client
	// ResponseURLBase, when set, is a base URL besides Slack's own
	// (https://hooks.slack.com/) that answers may be posted to: a test's
	// fake Slack. Other response URLs get no answer.
	ResponseURLBase string
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Callbacks serves Slack's signed callbacks: button presses on incident
// messages and the /klaxon slash command. A request that is not signed as
// Slack signs, is older or newer than MaxSkew, or was taken already gets
// 401 and changes nothing; without Slack configured, every callback gets
// 404.
type Callbacks struct {
	o   CallbackOptions
	log *slog.Logger
	mux *http.ServeMux
	// refused thins out the log lines of forged callbacks.
	refused *logthin.Thinner
}

var _ http.Handler = (*Callbacks)(nil)

// NewCallbacks returns the handler of Slack's callbacks, at
// CallbackPaths.
func NewCallbacks(o CallbackOptions) *Callbacks {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: responseTimeout}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	c := &Callbacks{o: o, log: o.Log.With("component", "slack"), mux: http.NewServeMux(), refused: logthin.New(o.Now)}
	c.mux.HandleFunc("POST "+InteractionsPath, c.interaction)
	c.mux.HandleFunc("POST "+CommandsPath, c.command)
	return c
}

// ServeHTTP serves a callback.
func (c *Callbacks) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// callbackMemory is how long a signed request is remembered: past it,
// its timestamp is too old to pass anyway.
const callbackMemory = 2*MaxSkew + time.Minute

// responseTimeout bounds posting an answer to a response_url: Slack waits
// 3 s for the callback's own answer.
const responseTimeout = 2 * time.Second

// form checks a callback's signature and that it is fresh, and returns
// its form; it has answered the request when ok is false.
func (c *Callbacks) form(w http.ResponseWriter, r *http.Request) (form url.Values, ok bool) {
	secret := ""
	if c.o.SigningSecret != nil {
		secret = c.o.SigningSecret()
	}
	if secret == "" {
		writeJSONError(w, http.StatusNotFound, "Slack is not configured (notify.slack)")
		return nil, false
	}
	body, err := Verify(r, secret, c.o.Now())
	if err == nil {
		form, err = url.ParseQuery(string(body))
		if err != nil {
			err = fmt.Errorf("slack callback: %w: %w", klaxon.ErrInvalid, err)
		}
	}
	if err != nil {
		c.refuse(w, r, err)
		return nil, false
	}
	return form, true
}

// first reports whether the signed request r is taken for the first
// time: a signature is unique to its timestamp and body, so the same one
// again is the same request again. The error matches
// klaxon.ErrUnauthorized for a request taken already; another error is
// the Memory's, and the caller says to try again.
func (c *Callbacks) first(r *http.Request) error {
	if c.o.Memory == nil {
		return nil
	}
	// Keyed by the signature as Verify read it: hex in any case is the
	// same signature, and the same request again.
	first, err := c.o.Memory.FirstTime(r.Context(), "slack:"+strings.ToLower(r.Header.Get(SignatureHeader)), c.o.Now(), callbackMemory)
	switch {
	case err != nil:
		c.log.ErrorContext(r.Context(), "slack callback", "path", r.URL.Path, "err", err)
		return fmt.Errorf("slack callback: %w", err)
	case !first:
		return fmt.Errorf("slack callback: request taken already: %w", klaxon.ErrUnauthorized)
	}
	return nil
}

// tryAgain is what a Slack user is told when Klaxon could not take their
// request.
const tryAgain = "Klaxon could not take this request; try again."

// refuse answers a callback that cannot be served with its error's status.
func (c *Callbacks) refuse(w http.ResponseWriter, r *http.Request, err error) {
	code := httpstatus.Of(err)
	if errors.Is(err, klaxon.ErrUnauthorized) {
		// Anyone can forge one, by the thousand: thinned.
		if ok, unlogged := c.refused.Let(); ok {
			c.log.WarnContext(r.Context(), "slack callback refused", "path", r.URL.Path, "err", err, "unlogged", unlogged)
		}
	}
	writeJSONError(w, code, err.Error())
}

// message is an answer to a callback, or to its response_url.
type message struct {
	ResponseType    string `json:"response_type"`
	Text            string `json:"text"`
	ReplaceOriginal bool   `json:"replace_original"`
}

// ephemeral answers a callback with text that only its sender sees.
func ephemeral(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(message{ResponseType: "ephemeral", Text: text}) // the client went away; nothing to do
}

// respond posts text, ephemeral, to a button press's response_url: Slack
// shows nothing of the HTTP answer to a press. An answer that cannot be
// posted is logged.
func (c *Callbacks) respond(ctx context.Context, responseURL, text string) {
	if !c.trusted(responseURL) {
		if u, err := url.Parse(responseURL); responseURL != "" && err == nil {
			c.log.WarnContext(ctx, "slack response_url is not Slack's; no answer posted", "host", u.Host)
		}
		return
	}
	if err := c.post(ctx, responseURL, message{ResponseType: "ephemeral", Text: text}); err != nil {
		c.log.WarnContext(ctx, "slack answer to response_url", "err", err)
	}
}

// post posts msg to responseURL, within responseTimeout.
func (c *Callbacks) post(ctx context.Context, responseURL string, msg message) error {
	ctx, cancel := context.WithTimeout(ctx, responseTimeout)
	defer cancel()
	b, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL is a credential
		}
		return fmt.Errorf("post answer: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("post answer: status %d", resp.StatusCode)
	}
	return nil
}

// trusted reports whether answers may be posted to responseURL: one of
// Slack's, or under ResponseURLBase.
func (c *Callbacks) trusted(responseURL string) bool {
	if base := c.o.ResponseURLBase; base != "" && strings.HasPrefix(responseURL, strings.TrimRight(base, "/")+"/") {
		return true
	}
	u, err := url.Parse(responseURL)
	return err == nil && u.Scheme == "https" && u.User == nil && u.Port() == "" &&
		(u.Host == "hooks.slack.com" || u.Host == "hooks.slack-gov.com")
}

// actFailure says to a Slack user why an act on incident id failed. A
// refusal says what it is ("it is resolved"); a failure of Klaxon's own
// (the store cannot write) is logged, and the user is told only to try
// again.
func (c *Callbacks) actFailure(ctx context.Context, user, id string, err error) string {
	if httpstatus.Of(err) >= http.StatusInternalServerError {
		c.log.ErrorContext(ctx, "act from slack", "user", user, "incident", id, "err", err)
		return "Klaxon could not record it; try again."
	}
	return clip(err.Error(), maxSummary)
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg}) // the client went away; nothing to do
}
