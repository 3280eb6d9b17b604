package klaxontest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/slacktest"
)

// Tokens of the harness's config.
const (
	// APIToken may do everything through the API, and act for others.
	APIToken = "klaxontest-api-token"
	// AlertmanagerToken is the token of the integration "prometheus",
	// of type alertmanager.
	AlertmanagerToken = "klaxontest-am-token"
)

// Config is what a test's Klaxon is configured with, beyond what the
// harness sets itself (listener, store, Twilio, SMTP, tokens). Start
// writes it as the files a user keeps in git, and Klaxon loads them as
// it loads any.
type Config struct {
	// Policies; the route's default is the first.
	Policies []Policy
	Users    []User
	// GroupBy is the route's group_by (default Klaxon's).
	GroupBy []string
	// Schedules are written under schedules/.
	Schedules []Schedule
	// Tokens are API tokens besides APIToken.
	Tokens []Token
	// Heartbeats are heartbeat integrations.
	Heartbeats []Heartbeat
	// Slack, when set, is the fake Slack that notify.slack talks to.
	Slack *slacktest.Server
}

// Heartbeat is a heartbeat integration: pinged every Interval with
// Token, missed Grace after.
type Heartbeat struct {
	Name, Token     string
	Interval, Grace time.Duration
}

// Schedule is an on-call schedule of weekly layers.
type Schedule struct {
	Name, TimeZone string
	Layers         []Layer
}

// Layer is a layer of a schedule: members taking turns every Every
// (like "1w") from Handoff ("2026-01-05T09:00").
type Layer struct {
	Name, Every, Handoff string
	Members              []string
}

// Token is an API token with its scopes ("read", "act", "admin").
type Token struct {
	Name, Token string
	Scopes      []string
}

// Policy is an escalation policy.
type Policy struct {
	Name       string
	Repeat     int
	AckTimeout time.Duration
	Steps      []Step
	// Subscribers get status updates: "user:ID" or a URL.
	Subscribers []string
	// SlackChannel gets a message per incident (WithSlack).
	SlackChannel string
}

// Step is a step of a policy: targets like "user:alice" or
// "schedule:primary".
type Step struct {
	Targets       []string
	EscalateAfter time.Duration
}

// User is a person Klaxon pages.
type User struct {
	ID, Name, Phone, Email string
	// SlackID is the user's Slack member ID (WithSlack).
	SlackID string
	Notify  []Rule
}

// Rule is a notification rule: a contact method ("sms", "voice",
// "email") and how long into a page it is used.
type Rule struct {
	Via   string
	After time.Duration
	// Urgency, when set ("high", "low"), limits the rule to incidents
	// of that urgency.
	Urgency string
}

// SMS is the rule of an SMS after into a page.
func SMS(after time.Duration) Rule { return Rule{Via: "sms", After: after} }

// Voice is the rule of a call after into a page.
func Voice(after time.Duration) Rule { return Rule{Via: "voice", After: after} }

// Email is the rule of a mail after into a page.
func Email(after time.Duration) Rule { return Rule{Via: "email", After: after} }

// object is a YAML mapping as JSON writes it: YAML reads JSON.
type object = map[string]any

// write writes c, with the harness's settings, into dir and returns the
// path of its klaxon.yaml.
func (c Config) write(t *testing.T, dir string, harness object) string {
	t.Helper()
	route := object{}
	if len(c.Policies) > 0 {
		route["policy"] = c.Policies[0].Name
	}
	if len(c.GroupBy) > 0 {
		route["group_by"] = c.GroupBy
	}
	tokens := []object{{"name": "test", "token": APIToken, "scopes": []string{"admin"}, "act_as": true}}
	for _, tk := range c.Tokens {
		tokens = append(tokens, object{"name": tk.Name, "token": tk.Token, "scopes": tk.Scopes})
	}
	integrations := []object{{"name": "prometheus", "type": "alertmanager", "token": AlertmanagerToken}}
	for _, hb := range c.Heartbeats {
		integrations = append(integrations, object{"name": hb.Name, "type": "heartbeat", "token": hb.Token, "interval": hb.Interval.String(), "grace": hb.Grace.String()})
	}
	main := object{
		"store":        object{"path": "data/klaxon.db"},
		"api":          object{"tokens": tokens},
		"integrations": integrations,
		"route":        route,
		"policies":     "policies/",
		"users":        "users.yaml",
	}
	if len(c.Schedules) > 0 {
		main["schedules"] = "schedules/"
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "schedules"), 0o755))
	}
	for _, sc := range c.Schedules {
		layers := make([]object, len(sc.Layers))
		for i, l := range sc.Layers {
			layers[i] = object{"name": l.Name, "members": l.Members, "rotation": object{"every": l.Every, "handoff": l.Handoff}}
		}
		writeJSON(t, filepath.Join(dir, "schedules", sc.Name+".yaml"), object{"name": sc.Name, "time_zone": sc.TimeZone, "layers": layers})
	}
	for k, v := range harness {
		main[k] = v
	}
	writeJSON(t, filepath.Join(dir, "klaxon.yaml"), main)

	users := make([]object, len(c.Users))
	for i, u := range c.Users {
		rules := make([]object, len(u.Notify))
		for j, r := range u.Notify {
			rules[j] = object{"via": r.Via, "after": r.After.String()}
			if r.Urgency != "" {
				rules[j]["urgency"] = r.Urgency
			}
		}
		users[i] = object{"id": u.ID, "notify": rules}
		for k, v := range map[string]string{"name": u.Name, "phone": u.Phone, "email": u.Email, "slack_id": u.SlackID} {
			if v != "" {
				users[i][k] = v
			}
		}
	}
	writeJSON(t, filepath.Join(dir, "users.yaml"), object{"users": users})

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "policies"), 0o755))
	for _, p := range c.Policies {
		steps := make([]object, len(p.Steps))
		for i, s := range p.Steps {
			steps[i] = object{"targets": s.Targets}
			if s.EscalateAfter > 0 {
				steps[i]["escalate_after"] = s.EscalateAfter.String()
			}
		}
		policy := object{"name": p.Name, "steps": steps}
		if p.Repeat > 0 {
			policy["repeat"] = p.Repeat
		}
		if p.AckTimeout > 0 {
			policy["ack_timeout"] = p.AckTimeout.String()
		}
		if len(p.Subscribers) > 0 {
			policy["subscribers"] = p.Subscribers
		}
		if p.SlackChannel != "" {
			policy["slack_channel"] = p.SlackChannel
		}
		writeJSON(t, filepath.Join(dir, "policies", p.Name+".yaml"), policy)
	}
	return filepath.Join(dir, "klaxon.yaml")
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}
