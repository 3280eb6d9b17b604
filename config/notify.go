package config

import (
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Notify configures the channels pages go out by. A channel left unset is
// off; Console, when set, stands in for every channel that is off.
type Notify struct {
	Console *Console `koanf:"console"`
	Twilio  *Twilio  `koanf:"twilio"`
	SMTP    *SMTP    `koanf:"smtp"`
	Webhook *Webhook `koanf:"webhook"`
	Slack   *Slack   `koanf:"slack"`
	Limits  Limits   `koanf:"limits"`
	// Concurrency bounds the pages each channel (SMS, voice, email,
	// webhook, console) sends at once; 0 is DefaultConcurrency. Pages
	// beyond it wait for one to finish; other channels do not.
	Concurrency int `koanf:"concurrency"`
}

// DefaultConcurrency is the pages a channel sends at once by default.
const DefaultConcurrency = 32

// PerChannel is how many pages each channel sends at once.
func (n *Notify) PerChannel() int {
	if n.Concurrency <= 0 {
		return DefaultConcurrency
	}
	return n.Concurrency
}

// Slack is a Slack app: a message per incident in its policy's
// slack_channel, with buttons that act, direct messages for via: slack,
// and the /klaxon command.
type Slack struct {
	BotToken      string `koanf:"bot_token"`
	SigningSecret string `koanf:"signing_secret"`
	// APIURL is Slack's Web API, for tests (default Slack's).
	APIURL string `koanf:"api_url"`
}

// Webhook posts pages (users' rules with via: webhook) to a URL, as
// Klaxon's signed JSON or as a Slack incoming-webhook message.
type Webhook struct {
	URL string `koanf:"url"`
	// Secret signs each body (X-Klaxon-Signature); optional.
	Secret string `koanf:"secret"`
	// Format is json (default) or slack.
	Format string `koanf:"format"`
}

// Limits keep each person to at most one SMS and one call per period in
// a storm; the pages that come meanwhile go out together, bundled, when
// the period ends. Unset is a minute each; 0s turns a limit off (a
// person on a call still gets no other until it ended).
type Limits struct {
	SMS   durationText `koanf:"sms"`
	Voice durationText `koanf:"voice"`
}

// DefaultLimit is the period of a limit left unset.
const DefaultLimit = time.Minute

// Limit returns the limit of contact method via; 0 for none.
func (n *Notify) Limit(via string) time.Duration {
	var d durationText
	switch via {
	case klaxon.ViaSMS:
		d = n.Limits.SMS
	case klaxon.ViaVoice:
		d = n.Limits.Voice
	default:
		return 0
	}
	if d == "" {
		return DefaultLimit
	}
	limit, _ := ParseDuration(string(d)) // checked by Load
	return limit
}

// Console prints pages to the log.
type Console struct{}

// Twilio sends SMS and voice pages.
type Twilio struct {
	AccountSID string `koanf:"account_sid"`
	AuthToken  string `koanf:"auth_token"`
	// From is the E.164 number pages come from.
	From string `koanf:"from"`
	// APIURL replaces Twilio's API base URL, for tests; "" for Twilio's.
	APIURL string `koanf:"api_url"`
}

// SMTP TLS modes.
const (
	TLSStartTLS = "starttls" // upgrade a plain connection (port 587)
	TLSImplicit = "tls"      // TLS from the start (port 465)
	TLSNone     = "none"     // plain text: for a local relay only
)

// SMTP sends email pages.
type SMTP struct {
	Host string `koanf:"host"`
	// Port defaults to 465 with TLS tls, else 587.
	Port     int    `koanf:"port"`
	Username string `koanf:"username"`
	Password string `koanf:"password"`
	From     string `koanf:"from"`
	// TLS is starttls, tls or none; default tls on port 465, else starttls.
	TLS string `koanf:"tls"`
}

// e164 matches a phone number in E.164 form.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// checkNotify defaults and checks the notify channels.
func (l *loader) checkNotify(n *Notify) {
	for _, lim := range []struct {
		key string
		d   durationText
	}{{"notify.limits.sms", n.Limits.SMS}, {"notify.limits.voice", n.Limits.Voice}} {
		key, d := lim.key, lim.d
		if d == "" {
			continue
		}
		if v, err := ParseDuration(string(d)); err != nil {
			l.probs.add(l.path, key, "%v", err)
		} else if v < 0 {
			l.probs.add(l.path, key, "must be 0s or more")
		}
	}
	if n.Concurrency < 0 {
		l.probs.add(l.path, "notify.concurrency", "must be 1 or more (0 or unset: %d)", DefaultConcurrency)
	}
	if t := n.Twilio; t != nil {
		// Checked as Twilio checks them, so that a placeholder or a key of
		// the wrong kind fails here, not on every page.
		switch {
		case t.AccountSID == "":
			l.probs.add(l.path, "notify.twilio.account_sid", "required")
		case strings.HasPrefix(t.AccountSID, "SK"):
			l.probs.add(l.path, "notify.twilio.account_sid", "%s is an API key's SID: account_sid is the account's, AC and 32 hex digits, and auth_token its auth token", redact(t.AccountSID))
		case !accountSID.MatchString(t.AccountSID):
			l.probs.add(l.path, "notify.twilio.account_sid", "%q is not an account SID: want AC and 32 hex digits, from the Twilio console", redact(t.AccountSID))
		}
		switch {
		case t.AuthToken == "":
			l.probs.add(l.path, "notify.twilio.auth_token", "required")
		case !authToken.MatchString(t.AuthToken):
			l.probs.add(l.path, "notify.twilio.auth_token", "not an auth token: want the 32 letters and digits of the Twilio console")
		}
		if !e164.MatchString(t.From) {
			l.probs.add(l.path, "notify.twilio.from", "want a phone number in E.164 form, like +15550100000")
		}
		if t.APIURL != "" && !isHTTPURL(t.APIURL) {
			l.probs.add(l.path, "notify.twilio.api_url", "bad URL %q: want http:// or https:// and a host", t.APIURL)
		}
	}
	if h := n.Webhook; h != nil {
		if !isHTTPURL(h.URL) {
			l.probs.add(l.path, "notify.webhook.url", "want an http:// or https:// URL with a host")
		}
		switch h.Format {
		case "", "json", "slack":
		default:
			l.probs.add(l.path, "notify.webhook.format", "unknown format %q: want json or slack", h.Format)
		}
	}
	if s := n.Slack; s != nil {
		if !strings.HasPrefix(s.BotToken, "xoxb-") {
			l.probs.add(l.path, "notify.slack.bot_token", "want the app's bot token, xoxb-…")
		}
		if s.SigningSecret == "" {
			l.probs.add(l.path, "notify.slack.signing_secret", "required: it checks that buttons and commands come from Slack")
		}
		if s.APIURL != "" && !isHTTPURL(s.APIURL) {
			l.probs.add(l.path, "notify.slack.api_url", "bad URL %q: want http:// or https:// and a host", s.APIURL)
		}
	}
	if s := n.SMTP; s != nil {
		switch {
		case l.secret == "":
			l.probs.add(l.path, "secret", "required with notify.smtp: it signs the acknowledgement links in mail")
		case len(l.secret) < 16:
			l.probs.add(l.path, "secret", "too short: at least 16 characters")
		}
		if s.Host == "" {
			l.probs.add(l.path, "notify.smtp.host", "required")
		}
		if s.Port == 0 {
			s.Port = 587 // submission, with STARTTLS
			if s.TLS == TLSImplicit {
				s.Port = 465 // submissions, TLS from the start
			}
		}
		if s.Port < 1 || s.Port > 65535 {
			l.probs.add(l.path, "notify.smtp.port", "must be from 1 to 65535")
		}
		if s.From == "" {
			l.probs.add(l.path, "notify.smtp.from", "required")
		} else if _, err := mail.ParseAddress(s.From); err != nil {
			l.probs.add(l.path, "notify.smtp.from", "bad address %q", s.From)
		}
		switch s.TLS {
		case "":
			s.TLS = TLSStartTLS
			if s.Port == 465 {
				s.TLS = TLSImplicit
			}
		case TLSStartTLS, TLSImplicit, TLSNone:
		default:
			l.probs.add(l.path, "notify.smtp.tls", "unknown mode %q: want starttls, tls or none", s.TLS)
		}
	}
}

// reaches reports whether some channel of n delivers pages sent via via
// (klaxon.ViaSMS and so on); the console stands in for any channel.
func (n *Notify) reaches(via string) bool {
	switch {
	case n.Console != nil:
		return true
	case via == klaxon.ViaSMS, via == klaxon.ViaVoice:
		return n.Twilio != nil
	case via == klaxon.ViaEmail:
		return n.SMTP != nil
	case via == klaxon.ViaWebhook:
		return n.Webhook != nil
	case via == klaxon.ViaSlack:
		return n.Slack != nil
	}
	return false
}

// What Twilio's account SIDs and auth tokens look like.
var (
	accountSID = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	authToken  = regexp.MustCompile(`^[0-9A-Za-z]{32}$`)
)

// redact shortens an identifier for a message: its first six characters.
func redact(s string) string {
	if len(s) <= 6 {
		return s
	}
	return s[:6] + "…"
}
