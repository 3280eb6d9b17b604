package config

import (
	"fmt"
	"net/mail"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// usersFile is the users file as written.
type usersFile struct {
	Users []userSpec `koanf:"users"`
}

type userSpec struct {
	ID       string     `koanf:"id"`
	Name     string     `koanf:"name"`
	Phone    string     `koanf:"phone"`
	Email    string     `koanf:"email"`
	TimeZone string     `koanf:"time_zone"`
	Notify   []ruleSpec `koanf:"notify"`
	// WebToken signs the user in to the web console as themselves, with
	// scope act; usually "${VAR}".
	WebToken string `koanf:"web_token"`
	// SlackID is the user's Slack member ID.
	SlackID string `koanf:"slack_id"`
}

type ruleSpec struct {
	Via     string       `koanf:"via"`
	After   durationText `koanf:"after"`
	Urgency string       `koanf:"urgency"`
}

// loadUsers loads the users file name (`users:` in klaxon.yaml). It
// reports false when the file cannot be read at all, so that the policies
// are not blamed for users it would have defined.
func (l *loader) loadUsers(name string, n *Notify, api API) (map[string]klaxon.User, []WebToken, bool) {
	shown := l.shown(name)
	raw, err := readYAML(l.abs(name), shown)
	if err != nil {
		l.probs.list = append(l.probs.list, err)
		return map[string]klaxon.User{}, nil, false
	}
	var f usersFile
	d := decoder{file: shown, lookup: l.lookup, probs: l.probs}
	d.decode("", raw, reflect.ValueOf(&f).Elem())

	users := make(map[string]klaxon.User, len(f.Users))
	index := map[string]int{}
	var web []WebToken
	webIndex := map[string]int{}
	// A reply from a phone, or a press in Slack, acts as the one user
	// it belongs to: two users on one number could not tell who acted.
	phones, slackIDs := map[string]int{}, map[string]int{}
	shared := func(seen map[string]int, v string, i int, key, hint string) {
		if v == "" {
			return
		}
		if j, dup := seen[v]; dup {
			l.probs.add(shown, fmt.Sprintf("users[%d].%s", i, key), "same as the %s of users[%d]: what comes from it could not say which of them acts%s", key, j, hint)
			return
		}
		seen[v] = i
	}
	for i, s := range f.Users {
		at := func(key string) string { return fmt.Sprintf("users[%d].%s", i, key) }
		switch j, dup := index[s.ID]; {
		case s.ID == "":
			l.probs.add(shown, at("id"), "required")
		case dup:
			l.probs.add(shown, at("id"), "%q is also the id of users[%d]", s.ID, j)
		default:
			index[s.ID] = i
		}
		u := l.user(shown, at, s, n)
		shared(phones, s.Phone, i, "phone", " (a team's phone is a user of its own)")
		shared(slackIDs, s.SlackID, i, "slack_id", "")
		if s.WebToken != "" {
			l.checkWebToken(shown, at("web_token"), s.WebToken, i, webIndex, api)
			web = append(web, WebToken{User: s.ID, Token: s.WebToken})
		}
		if _, dup := users[s.ID]; s.ID != "" && !dup {
			users[s.ID] = u
		}
	}
	return users, web, true
}

// slackID is what Slack's member IDs look like.
var slackID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// minWebToken is the shortest web token accepted: it is typed into a
// sign-in form and guessed at over the network.
const minWebToken = 16

// WebToken signs User in to the web console.
type WebToken struct {
	User, Token string
}

// checkWebToken records a web token of users[i] at path that is short,
// another user's, an API token, or a feed token: a feed token sits in a
// calendar's URL, and would sign in to the console as the user.
func (l *loader) checkWebToken(file, path, token string, i int, seen map[string]int, api API) {
	if len(token) < minWebToken {
		l.probs.add(file, path, "too short: at least %d characters", minWebToken)
	}
	if j, dup := seen[token]; dup {
		l.probs.add(file, path, "same as the web_token of users[%d]: each user needs their own", j)
		return
	}
	seen[token] = i
	if _, ok := bySecret(api.Tokens, token, func(t Token) string { return t.Token }); ok {
		l.probs.add(file, path, "same as an API token (api.tokens): a web token needs its own")
	}
	if _, ok := bySecret(api.FeedTokens, token, func(t FeedToken) string { return t.Token }); ok {
		l.probs.add(file, path, "same as a feed token (api.feed_tokens), which sits in a calendar's URL: a web token needs its own")
	}
}

// user checks the user s and turns it into a klaxon.User. at names a key
// of s for messages.
func (l *loader) user(file string, at func(string) string, s userSpec, n *Notify) klaxon.User {
	u := klaxon.User{ID: s.ID, Name: s.Name, Phone: s.Phone, Email: s.Email, TimeZone: s.TimeZone, SlackID: s.SlackID}
	if s.SlackID != "" && !slackID.MatchString(s.SlackID) {
		l.probs.add(file, at("slack_id"), "want a Slack member ID, like U024BE7LH")
	}
	if s.Phone != "" && !e164.MatchString(s.Phone) {
		l.probs.add(file, at("phone"), "want a phone number in E.164 form, like +15550100001")
	}
	if s.Email != "" {
		if a, err := mail.ParseAddress(s.Email); err != nil || a.Address != s.Email {
			l.probs.add(file, at("email"), "bad address %q: want a bare address, like alice@example.com", s.Email)
		}
	}
	if s.TimeZone != "" {
		if _, err := time.LoadLocation(s.TimeZone); err != nil {
			l.probs.add(file, at("time_zone"), "unknown time zone %q: want an IANA name, like Europe/Berlin", s.TimeZone)
		}
	}
	for j, r := range s.Notify {
		rule := fmt.Sprintf("notify[%d]", j)
		var after time.Duration
		if r.After != "" {
			d, err := ParseDuration(string(r.After))
			switch {
			case err != nil:
				l.probs.add(file, at(rule+".after"), "%v", err)
			case d < 0:
				l.probs.add(file, at(rule+".after"), "must be 0s or more")
			}
			after = d
		}
		switch r.Via {
		case klaxon.ViaSMS, klaxon.ViaVoice:
			if s.Phone == "" {
				l.probs.add(file, at(rule+".via"), "%s needs the user's phone", r.Via)
			} else if !n.reaches(r.Via) {
				l.probs.add(file, at(rule+".via"), "%s needs notify.twilio or notify.console in the config", r.Via)
			} else if n.Twilio == nil {
				l.standIn(file, at(rule+".via"), r.Via, "notify.twilio")
			}
		case klaxon.ViaEmail:
			if s.Email == "" {
				l.probs.add(file, at(rule+".via"), "email needs the user's email")
			} else if !n.reaches(r.Via) {
				l.probs.add(file, at(rule+".via"), "email needs notify.smtp or notify.console in the config")
			} else if n.SMTP == nil {
				l.standIn(file, at(rule+".via"), r.Via, "notify.smtp")
			}
		case klaxon.ViaWebhook:
			if !n.reaches(r.Via) {
				l.probs.add(file, at(rule+".via"), "webhook needs notify.webhook or notify.console in the config")
			} else if n.Webhook == nil {
				l.standIn(file, at(rule+".via"), r.Via, "notify.webhook")
			}
		case klaxon.ViaSlack:
			if s.SlackID == "" {
				l.probs.add(file, at(rule+".via"), "slack needs the user's slack_id")
			} else if !n.reaches(r.Via) {
				l.probs.add(file, at(rule+".via"), "slack needs notify.slack or notify.console in the config")
			} else if n.Slack == nil {
				l.standIn(file, at(rule+".via"), r.Via, "notify.slack")
			}
		case "":
			l.probs.add(file, at(rule+".via"), "required: sms, voice, email, webhook or slack")
		default:
			l.probs.add(file, at(rule+".via"), "unknown %q: want sms, voice, email, webhook or slack", r.Via)
		}
		switch klaxon.Urgency(r.Urgency) {
		case "", klaxon.UrgencyHigh, klaxon.UrgencyLow:
		default:
			l.probs.add(file, at(rule+".urgency"), "must be high or low, got %q", r.Urgency)
		}
		u.Notify = append(u.Notify, klaxon.NotifyRule{Via: r.Via, After: after, Urgency: klaxon.Urgency(r.Urgency)})
	}
	if len(s.Notify) == 0 {
		u.Notify = defaultRules(u)
		if !slices.ContainsFunc(u.Notify, func(r klaxon.NotifyRule) bool { return n.reaches(r.Via) }) {
			l.probs.add(file, at("notify"), "none set, and no channel in notify reaches this user by default: set a phone or email with notify.twilio or notify.smtp, or turn on notify.console")
		}
	}
	return u
}

// defaultRules are the notify rules of a user who sets none: at once, by
// SMS when it has a phone and by email when it has an address; else to
// the console.
func defaultRules(u klaxon.User) []klaxon.NotifyRule {
	var rules []klaxon.NotifyRule
	if u.Phone != "" {
		rules = append(rules, klaxon.NotifyRule{Via: klaxon.ViaSMS})
	}
	if u.Email != "" {
		rules = append(rules, klaxon.NotifyRule{Via: klaxon.ViaEmail})
	}
	if len(rules) == 0 {
		rules = append(rules, klaxon.NotifyRule{Via: klaxon.ViaConsole})
	}
	return rules
}

// standIn notes that rule path of file pages by via, whose channel (the
// config key key) is not configured: the console stands in for it, and
// reaches nobody. One warning per key names the first such rule and
// counts the others.
func (l *loader) standIn(file, path, via, key string) {
	for i := range l.standIns {
		if w := &l.standIns[i]; w.key == key {
			w.rules++
			if !slices.Contains(w.vias, via) {
				w.vias = append(w.vias, via)
			}
			return
		}
	}
	l.standIns = append(l.standIns, standIn{key: key, file: file, path: path, vias: []string{via}, rules: 1})
}

// standIn is the rules that page by channels of one config key that is
// not configured.
type standIn struct {
	key, file, path string
	vias            []string
	rules           int
}

func (s standIn) warning() Warning {
	msg := fmt.Sprintf("%s: not configured (%s); the console stands in for it and reaches nobody", strings.Join(s.vias, " and "), s.key)
	if s.rules > 1 {
		msg += fmt.Sprintf(" (this rule and %d more)", s.rules-1)
	}
	return Warning{File: s.file, Path: s.path, Msg: msg}
}
