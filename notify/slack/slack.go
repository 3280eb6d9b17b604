// Package slack works incidents from Slack, through a Slack app's bot:
// it posts an incident's message to a channel and keeps it up to date
// (Post, Update, Delete), threads the timeline under it (Reply), pages
// people by direct message (Send, the channel of contact method
// "slack"), and serves the app's signed buttons and slash commands
// (Callbacks), which it reports through a Responder. The message an
// incident shows is a pure function of the incident (IncidentMessage).
//
// Calls to Slack carry their caller's context and a short timeout of
// their own, and never wait out a rate limit: a throttled call fails at
// once with a retryable *Error that says when to try again, so that Slack
// being slow or down never delays a page by SMS or voice. A page by
// direct message that Slack throttles is deferred to a time of its own
// instead (direct.go), and the channel messages pause per channel
// (sync.go).
package slack

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon"
)

// Via is the contact method of pages sent by Slack direct message.
const Via = "slack"

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = slackapi.APIURL

// DefaultTimeout bounds a call to Slack, or a Send, unless
// Options.Timeout says otherwise.
const DefaultTimeout = 5 * time.Second

// Options configure a Slack app's bot.
type Options struct {
	// BotToken is the bot's OAuth token (xoxb-...), with the scopes
	// chat:write, im:write and users:read.
	BotToken string
	// SigningSecret is the app's signing secret, which checks its
	// callbacks (see Callbacks).
	SigningSecret string
	// APIURL replaces Slack's Web API base URL (DefaultAPIURL when
	// empty): a proxy, or a test double such as slacktest.Server.APIURL.
	APIURL string
	// HTTPClient carries the requests; nil is a client with a 10 s
	// timeout.
	HTTPClient *http.Client
	// PublicURL is Klaxon's base URL, which messages link to; without
	// it they have no link.
	PublicURL string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// SlackID returns the Slack user ID (U...) of the Klaxon user with
	// ID userID, for direct messages; ok is false when they have none.
	SlackID func(userID string) (id string, ok bool)
	// Timeout bounds each call, and a Send's two calls together
	// (DefaultTimeout when 0).
	Timeout time.Duration
	// Wanted reports whether a page by direct message that waits for a
	// time Slack's pace gave it is still to be sent
	// (klaxon.PageWanted). Once a time in a DM (or of a DM's opening)
	// has passed for a few seconds without its page coming (during
	// Slack's pause: once no page came for a few seconds), a new page
	// that would wait behind the times given asks it about the pages
	// that wait for them, a few at once and for at most a fifth of
	// Timeout, and those not wanted give theirs up (see ask.go). nil:
	// none is, then (a page that comes for its time all the same still
	// goes).
	Wanted func(ctx context.Context, p klaxon.PageRef) bool
}

// Slack posts incidents and pages through one Slack app's bot. It is safe
// for concurrent use.
type Slack struct {
	token, secret string
	apiURL        string
	http          *http.Client
	publicURL     string
	now           func() time.Time
	slackID       func(string) (string, bool)
	timeout       time.Duration
	wanted        func(context.Context, klaxon.PageRef) bool
	direct        directs // the DMs opened, and paused by Slack's 429s
}

// New checks o and returns a Slack.
func New(o Options) (*Slack, error) {
	switch {
	case o.BotToken == "":
		return nil, klaxon.Invalid("bot_token", "required")
	case o.SigningSecret == "":
		return nil, klaxon.Invalid("signing_secret", "required")
	case o.Timeout < 0:
		return nil, klaxon.Invalid("timeout", "must not be negative")
	}
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	if err := checkURL(o.APIURL); err != nil {
		return nil, klaxon.Invalid("api_url", "%v", err)
	}
	if o.PublicURL != "" {
		if err := checkURL(o.PublicURL); err != nil {
			return nil, klaxon.Invalid("public_url", "%v", err)
		}
	}
	s := &Slack{
		token:     o.BotToken,
		secret:    o.SigningSecret,
		apiURL:    strings.TrimRight(o.APIURL, "/") + "/",
		http:      o.HTTPClient,
		publicURL: strings.TrimRight(o.PublicURL, "/"),
		now:       o.Now,
		slackID:   o.SlackID,
		timeout:   o.Timeout,
		wanted:    o.Wanted,
	}
	if s.http == nil {
		s.http = &http.Client{Timeout: 10 * time.Second}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	return s, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("bad URL %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("bad URL %q: want http:// or https:// and a host", s)
	}
	return nil
}

// SigningSecret is the app's signing secret, for CallbackOptions.
func (s *Slack) SigningSecret() string { return s.secret }

// Post posts the message of inc (IncidentMessage) to channel, a channel
// the bot is a member of, and returns where it is: the channel's ID, as
// Slack answers it (a #name becomes its ID), and the message's
// timestamp, which Update and Reply take. The error is an *Error when
// Slack refused or throttled the call, or did not answer.
func (s *Slack) Post(ctx context.Context, channel string, inc *klaxon.Incident, paged []string) (klaxon.Chat, error) {
	text, blocks := IncidentMessage(inc, paged, s.publicURL)
	var chat klaxon.Chat
	err := s.call(ctx, "chat.postMessage", func(ctx context.Context, api *slackapi.Client) error {
		var err error
		chat.Channel, chat.TS, err = api.PostMessageContext(ctx, channel, slackapi.MsgOptionText(text, false),
			slackapi.MsgOptionBlocks(blocks...), slackapi.MsgOptionDisableLinkUnfurl())
		return err
	})
	if err != nil {
		return klaxon.Chat{}, fmt.Errorf("post incident %s to %s: %w", inc.ID, channel, err)
	}
	if chat.Channel == "" {
		chat.Channel = channel
	}
	return chat, nil
}

// Update replaces the message ts in channel, which Post returned, with
// the message of inc as it is now: its state, counts, assignee, and
// buttons (none once it is resolved).
func (s *Slack) Update(ctx context.Context, channel, ts string, inc *klaxon.Incident, paged []string) error {
	text, blocks := IncidentMessage(inc, paged, s.publicURL)
	err := s.call(ctx, "chat.update", func(ctx context.Context, api *slackapi.Client) error {
		_, _, _, err := api.UpdateMessageContext(ctx, channel, ts, slackapi.MsgOptionText(text, false),
			slackapi.MsgOptionBlocks(blocks...))
		return err
	})
	if err != nil {
		return fmt.Errorf("update incident %s in %s: %w", inc.ID, channel, err)
	}
	return nil
}

// Delete deletes the message ts in channel, which the bot posted: a
// second message of an incident, which another replica's first post made
// needless.
func (s *Slack) Delete(ctx context.Context, channel, ts string) error {
	err := s.call(ctx, "chat.delete", func(ctx context.Context, api *slackapi.Client) error {
		_, _, err := api.DeleteMessageContext(ctx, channel, ts)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete %s in %s: %w", ts, channel, err)
	}
	return nil
}

// Reply posts text in the thread of message ts in channel, such as a
// timeline entry (EventText). text shows as written: it is escaped, and
// cut to Slack's limit.
func (s *Slack) Reply(ctx context.Context, channel, ts, text string) error {
	text = clip(text, maxText)
	if text == "" {
		return klaxon.Invalid("text", "empty reply")
	}
	err := s.call(ctx, "chat.postMessage", func(ctx context.Context, api *slackapi.Client) error {
		_, _, err := api.PostMessageContext(ctx, channel, slackapi.MsgOptionText(text, false),
			slackapi.MsgOptionTS(ts), slackapi.MsgOptionDisableLinkUnfurl())
		return err
	})
	if err != nil {
		return fmt.Errorf("reply in %s to %s: %w", channel, ts, err)
	}
	return nil
}

// call runs do, one Web API call of method, with a client of its own
// under ctx and the call's timeout. The error is an *Error.
func (s *Slack) call(ctx context.Context, method string, do func(context.Context, *slackapi.Client) error) error {
	return s.callFor(ctx, ctx, method, do)
}

// callFor is call under ctx, a deadline of the Slack's own within the
// caller's context parent: only parent's end is the caller giving up (a
// failure not to try again); ctx's is Slack being slow (one to retry).
func (s *Slack) callFor(parent, ctx context.Context, method string, do func(context.Context, *slackapi.Client) error) error {
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ans := &answer{next: s.http}
	api := slackapi.New(s.token, slackapi.OptionAPIURL(s.apiURL), slackapi.OptionHTTPClient(ans))
	if err := do(cctx, api); err != nil {
		return classify(parent, method, err, ans.status, ans.retryAfter, s.now())
	}
	return nil
}

// answer is an HTTP client that notes the status and Retry-After of the
// last answer, which slack-go does not always keep. It serves one call at
// a time.
type answer struct {
	next       *http.Client
	status     int
	retryAfter string
}

func (a *answer) Do(req *http.Request) (*http.Response, error) {
	resp, err := a.next.Do(req)
	if resp != nil {
		a.status, a.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	}
	return resp, err
}

// parseRetryAfter reads a Retry-After value, delay-seconds (whole or
// not) or an HTTP date, as a wait from now; ok is false when it is
// absent, bad, or no wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if sec, err := strconv.ParseFloat(v, 64); err == nil {
		d := time.Duration(sec * float64(time.Second))
		return d, sec > 0 && sec < 1e9
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now), true
	}
	return 0, false
}
