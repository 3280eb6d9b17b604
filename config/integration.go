package config

import (
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Integration types: the sources Klaxon accepts alerts from.
const (
	TypeAlertmanager = "alertmanager"
	TypeDatadog      = "datadog"
	TypePagerDuty    = "pagerduty"
	TypeGeneric      = "generic"
	// TypeHeartbeat is a dead man's switch: a sender pings it every
	// Interval, and a missing ping opens an incident.
	TypeHeartbeat = "heartbeat"
)

// DefaultGrace is how long past its interval a heartbeat's ping may be
// late before it counts as missed, unless grace says otherwise.
const DefaultGrace = time.Minute

// Integration is one source of alerts. Its name scopes the alerts' keys
// (see klaxon.AlertKey); its token authenticates it (for pagerduty, the
// routing_key).
type Integration struct {
	Name  string `koanf:"name"`
	Type  string `koanf:"type"`
	Token string `koanf:"token"`
	// Labels are added to each alert of the integration that does not
	// carry the label already, for routing; every alert also carries
	// integration=<Name>.
	Labels map[string]string `koanf:"labels"`
	// Interval and Grace are a heartbeat's (type heartbeat): a ping is
	// expected every Interval, and missed Grace after that.
	Interval durationText `koanf:"interval"`
	Grace    durationText `koanf:"grace"`
}

// Heartbeat returns the interval and grace of a heartbeat integration.
func (in Integration) Heartbeat() (interval, grace time.Duration) {
	interval, _ = ParseDuration(string(in.Interval))
	return interval, in.Grace.or(DefaultGrace)
}

// HeartbeatNamed returns the heartbeat integration called name.
func (c *Config) HeartbeatNamed(name string) (Integration, bool) {
	for _, in := range c.Integrations {
		if in.Type == TypeHeartbeat && in.Name == name {
			return in, true
		}
	}
	return Integration{}, false
}

// API holds the tokens of the HTTP API, for people and the CLI.
type API struct {
	Tokens []Token `koanf:"tokens"`
	// FeedTokens read one schedule's calendar feed each, and nothing else.
	FeedTokens []FeedToken `koanf:"feed_tokens"`
	// MetricsToken, when set, is the bearer token /metrics asks for; its
	// own, so that a scraper's token can do nothing else.
	MetricsToken string `koanf:"metrics_token"`
	// MaxSnooze bounds a snooze (default 7 days), MaxOverride a runtime
	// override of a schedule (default 366 days): longer ones are refused
	// with a 400 that names the bound.
	MaxSnooze   durationText `koanf:"max_snooze"`
	MaxOverride durationText `koanf:"max_override"`
}

// Default and ceiling of the API's bounds (the snooze's default is
// klaxon.DefaultMaxSnooze).
const (
	DefaultMaxOverride = 366 * 24 * time.Hour
	// maxBound keeps a bound, added to a time, far from overflowing.
	maxBound = 100 * 366 * 24 * time.Hour
)

// SnoozeBound is the longest snooze the API accepts.
func (a API) SnoozeBound() time.Duration { return a.MaxSnooze.or(klaxon.DefaultMaxSnooze) }

// OverrideBound is the longest runtime override the API accepts.
func (a API) OverrideBound() time.Duration { return a.MaxOverride.or(DefaultMaxOverride) }

// Token is an API token; Name is who acts in an incident's timeline.
type Token struct {
	Name  string `koanf:"name"`
	Token string `koanf:"token"`
	// Scopes are what the token may do (read, act, admin; each includes
	// the ones before it). Nil, when the config does not say, is every
	// scope, as API tokens could do before they had scopes; klaxon check
	// warns of it.
	Scopes []klaxon.Scope `koanf:"scopes"`
	// ActAs lets the token act for someone else: a command's "by" is
	// then who acts in the timeline, through the token.
	ActAs bool `koanf:"act_as"`
}

// Scope returns the widest of the token's scopes: admin when the config
// names none.
func (t Token) Scope() klaxon.Scope {
	if t.Scopes == nil {
		return klaxon.ScopeAdmin
	}
	return klaxon.Widest(t.Scopes)
}

// FeedToken reads the calendar feed of one schedule
// (GET /v1/schedules/{schedule}.ics), and nothing else: it may sit in a
// calendar app's URL. Removing it from the config and reloading revokes
// it.
type FeedToken struct {
	Name     string `koanf:"name"`
	Schedule string `koanf:"schedule"`
	Token    string `koanf:"token"`
}

// APIToken returns the API token whose secret is token.
func (c *Config) APIToken(token string) (Token, bool) {
	return bySecret(c.API.Tokens, token, func(t Token) string { return t.Token })
}

// WebToken returns the ID of the user whose web token is token.
func (c *Config) WebToken(token string) (user string, ok bool) {
	t, ok := bySecret(c.WebTokens, token, func(t WebToken) string { return t.Token })
	return t.User, ok
}

// FeedToken returns the feed token whose secret is token.
func (c *Config) FeedToken(token string) (FeedToken, bool) {
	return bySecret(c.API.FeedTokens, token, func(t FeedToken) string { return t.Token })
}

// IntegrationToken returns the integration of type kind whose token is
// token.
func (c *Config) IntegrationToken(kind, token string) (Integration, bool) {
	return bySecret(c.Integrations, token, func(in Integration) string {
		if in.Type != kind {
			return ""
		}
		return in.Token
	})
}

// bySecret returns the first of ts whose secret is token, compared in
// constant time; an empty token is no one's.
func bySecret[T any](ts []T, token string, secret func(T) string) (T, bool) {
	var none T
	if token == "" {
		return none, false
	}
	for _, t := range ts {
		if equal(secret(t), token) {
			return t, true
		}
	}
	return none, false
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// checkIntegrations checks integrations: names and tokens set and unique.
func (l *loader) checkIntegrations(ins []Integration) {
	names, tokens := map[string]int{}, map[string]int{}
	for i, in := range ins {
		at := func(key string) string { return fmt.Sprintf("integrations[%d].%s", i, key) }
		switch j, dup := names[in.Name]; {
		case in.Name == "":
			l.probs.add(l.path, at("name"), "required")
		case strings.Contains(in.Name, "/"):
			l.probs.add(l.path, at("name"), `must not contain "/"`)
		case in.Name == "." || in.Name == "..":
			// A heartbeat's URL, /v1/heartbeat/{name}, would be cleaned
			// to another path.
			l.probs.add(l.path, at("name"), "%q cannot be a name: a URL path of it is not one of its own once cleaned", in.Name)
		case dup:
			l.probs.add(l.path, at("name"), "%q is also the name of integrations[%d]", in.Name, j)
		default:
			names[in.Name] = i
		}
		switch in.Type {
		case TypeAlertmanager, TypeDatadog, TypePagerDuty, TypeGeneric:
			if in.Interval != "" || in.Grace != "" {
				l.probs.add(l.path, at("interval"), "interval and grace are a heartbeat's (type: heartbeat)")
			}
		case TypeHeartbeat:
			l.checkHeartbeat(at, in)
		case "":
			l.probs.add(l.path, at("type"), "required: alertmanager, datadog, pagerduty, generic or heartbeat")
		default:
			l.probs.add(l.path, at("type"), "unknown type %q: want alertmanager, datadog, pagerduty, generic or heartbeat", in.Type)
		}
		for k := range in.Labels {
			switch {
			case k == "":
				l.probs.add(l.path, at("labels"), "a label needs a name")
			case k == klaxon.LabelIntegration:
				l.probs.add(l.path, at("labels."+k), "every alert carries integration=<its integration's name> already")
			}
		}
		l.unique(at("token"), in.Token, i, tokens, func(j int) string {
			return fmt.Sprintf("same as the token of integrations[%d]: each integration needs its own", j)
		})
	}
}

// checkActors checks what the integrations and API tokens share with the
// rest of the config, once the users are read:
//   - an integration's token must not be an API, feed or web token: it
//     sits in its sender's config (Alertmanager's, a CI job's), and is
//     taken without a limit on guesses, so that a sender is never
//     throttled;
//   - an API token's or an integration's name must not be a user's ID:
//     the timeline names who acted, and a token named bob acting would
//     read as bob's own act.
func (l *loader) checkActors(c *Config) {
	for i, in := range c.Integrations {
		at := func(key string) string { return fmt.Sprintf("integrations[%d].%s", i, key) }
		if _, ok := c.Users[in.Name]; ok && in.Name != "" {
			l.probs.add(l.path, at("name"), "%q is the ID of a user: its acts (a PagerDuty acknowledge) would read as theirs in the timeline; name it otherwise", in.Name)
		}
		if in.Token == "" {
			continue
		}
		also := ""
		if j := slices.IndexFunc(c.API.Tokens, func(t Token) bool { return equal(t.Token, in.Token) }); j >= 0 {
			also = fmt.Sprintf("the token of api.tokens[%d]", j)
		} else if j := slices.IndexFunc(c.API.FeedTokens, func(t FeedToken) bool { return equal(t.Token, in.Token) }); j >= 0 {
			also = fmt.Sprintf("the token of api.feed_tokens[%d]", j)
		} else if slices.ContainsFunc(c.WebTokens, func(t WebToken) bool { return equal(t.Token, in.Token) }) {
			also = "a user's web_token"
		}
		if also != "" {
			l.probs.add(l.path, at("token"), "same as %s: an integration's token sits in its sender's config and may be guessed without limit, so it must open nothing else; give it one of its own", also)
		}
	}
	for i, t := range c.API.Tokens {
		if _, ok := c.Users[t.Name]; ok && t.Name != "" {
			l.probs.add(l.path, fmt.Sprintf("api.tokens[%d].name", i), "%q is the ID of a user: the token's acts would read as theirs in the timeline; name it for who holds it (ops, ci), and give them act_as to act for %s", t.Name, t.Name)
		}
	}
}

// checkHeartbeat checks a heartbeat's interval (required, 10s or more)
// and grace.
func (l *loader) checkHeartbeat(at func(string) string, in Integration) {
	switch d, err := ParseDuration(string(in.Interval)); {
	case in.Interval == "":
		l.probs.add(l.path, at("interval"), "required: how often the sender pings, like 5m")
	case err != nil:
		l.probs.add(l.path, at("interval"), "%v", err)
	case d < 10*time.Second || d > maxBound:
		l.probs.add(l.path, at("interval"), "must be from 10s to 100 years, got %s", in.Interval)
	}
	if in.Grace != "" {
		if d, err := ParseDuration(string(in.Grace)); err != nil {
			l.probs.add(l.path, at("grace"), "%v", err)
		} else if d < 0 || d > maxBound {
			l.probs.add(l.path, at("grace"), "must be from 0s to 100 years, got %s", in.Grace)
		}
	}
}

// checkAPI checks the API tokens: names and tokens set and unique, scopes
// known; and the feed tokens: names and tokens set and unique, tokens
// unlike any API token's.
func (l *loader) checkAPI(api API) {
	for _, b := range []struct {
		key string
		d   durationText
	}{{"api.max_snooze", api.MaxSnooze}, {"api.max_override", api.MaxOverride}} {
		if b.d == "" {
			continue
		}
		if v, err := ParseDuration(string(b.d)); err != nil {
			l.probs.add(l.path, b.key, "%v", err)
		} else if v <= 0 || v > maxBound {
			l.probs.add(l.path, b.key, "must be positive and at most 100 years, got %s", b.d)
		}
	}
	names, tokens := map[string]int{}, map[string]int{}
	for i, t := range api.Tokens {
		at := func(key string) string { return fmt.Sprintf("api.tokens[%d].%s", i, key) }
		l.unique(at("name"), t.Name, i, names, func(j int) string { return fmt.Sprintf("%q is also the name of api.tokens[%d]", t.Name, j) })
		l.unique(at("token"), t.Token, i, tokens, func(j int) string { return fmt.Sprintf("same as the token of api.tokens[%d]", j) })
		if t.Scopes != nil && len(t.Scopes) == 0 {
			l.probs.add(l.path, at("scopes"), "a token needs at least one scope: read, act or admin")
		}
		for k, s := range t.Scopes {
			if !s.Valid() {
				l.probs.add(l.path, at(fmt.Sprintf("scopes[%d]", k)), "unknown scope %q: want read, act or admin", s)
			}
		}
	}
	feeds, feedTokens := map[string]int{}, map[string]int{}
	for i, t := range api.FeedTokens {
		at := func(key string) string { return fmt.Sprintf("api.feed_tokens[%d].%s", i, key) }
		l.unique(at("name"), t.Name, i, feeds, func(j int) string { return fmt.Sprintf("%q is also the name of api.feed_tokens[%d]", t.Name, j) })
		if t.Schedule == "" {
			l.probs.add(l.path, at("schedule"), "required: the schedule whose calendar feed the token reads")
		}
		j, api := tokens[t.Token]
		k, dup := feedTokens[t.Token]
		switch {
		case t.Token == "":
			l.probs.add(l.path, at("token"), "required")
		case api:
			l.probs.add(l.path, at("token"), "same as the token of api.tokens[%d]: a feed token needs its own", j)
		case dup:
			l.probs.add(l.path, at("token"), "same as the token of api.feed_tokens[%d]", k)
		default:
			feedTokens[t.Token] = i
		}
	}
}

// unique records v, the value at path of entry i of a list, as required
// and not among seen, the values of the entries before; repeated says
// what a repeat of entry j is.
func (l *loader) unique(path, v string, i int, seen map[string]int, repeated func(j int) string) {
	switch j, dup := seen[v]; {
	case v == "":
		l.probs.add(l.path, path, "required")
	case dup:
		l.probs.add(l.path, path, "%s", repeated(j))
	default:
		seen[v] = i
	}
}

// checkFeedSchedules records a feed token whose schedule no schedule file
// defines; defined is nil when they could not all be read.
func (l *loader) checkFeedSchedules(feeds []FeedToken, defined map[string]string) {
	if defined == nil {
		return
	}
	for i, t := range feeds {
		if _, ok := defined[t.Schedule]; t.Schedule != "" && !ok {
			l.probs.add(l.path, fmt.Sprintf("api.feed_tokens[%d].schedule", i), "unknown schedule %q: %s", t.Schedule, l.noSchedule())
		}
	}
}

// UserByPhone returns the user whose phone is phone: who an SMS reply or
// a call is from, or to.
func (c *Config) UserByPhone(phone string) (klaxon.User, bool) {
	if phone == "" {
		return klaxon.User{}, false
	}
	for _, u := range c.Users {
		if u.Phone == phone {
			return u, true
		}
	}
	return klaxon.User{}, false
}
