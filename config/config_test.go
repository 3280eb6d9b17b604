package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/stretchr/testify/require"
)

// baseFiles is a small valid configuration, under conf/.
var baseFiles = map[string]string{
	"conf/klaxon.yaml": `
route:
  policy: default
policies: policies
users: users.yaml
integrations:
  - {name: prom, type: alertmanager, token: prom-token-0123456789}
notify:
  console: {}
`,
	"conf/policies/default.yaml": `
name: default
steps:
  - targets: [user:alice]
    escalate_after: 5m
`,
	"conf/users.yaml": `
users:
  - id: alice
    phone: "+15550100001"
`,
}

// primarySchedule is a valid schedule of the users of baseFiles.
const primarySchedule = `
name: primary
time_zone: America/New_York
layers:
  - name: weekly
    rotation: {every: 1w, handoff: "2026-01-05T09:00"}
    members: [alice]
`

// setup writes baseFiles, changed by files (an empty content removes a
// file), into a temporary folder, and makes it the working directory.
// Load("conf/klaxon.yaml") then names files as the tests expect.
func setup(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	all := map[string]string{}
	for name, body := range baseFiles {
		all[name] = body
	}
	for name, body := range files {
		all[name] = body
	}
	for name, body := range all {
		if body == "" {
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
		require.NoError(t, os.WriteFile(name, []byte(body), 0o644))
	}
}

// clearEnv unsets every environment variable for the test.
func clearEnv(t *testing.T) {
	saved := os.Environ()
	os.Clearenv()
	t.Cleanup(func() {
		os.Clearenv()
		for _, kv := range saved {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
	})
}

// lines returns the messages of the *Errors joined in err.
func lines(t *testing.T, err error) []string {
	t.Helper()
	require.Error(t, err)
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var out []string
	for _, e := range errs {
		var ce *Error
		require.True(t, errors.As(e, &ce), "%T is not a *config.Error: %v", e, e)
		out = append(out, ce.Error())
	}
	return out
}

func TestLoadExample(t *testing.T) {
	clearEnv(t)
	// A copy, so that what running the example left in examples/ (its
	// store) does not matter, and what Load would create shows.
	dir := filepath.Join(t.TempDir(), "examples")
	require.NoError(t, os.CopyFS(dir, os.DirFS("../examples")))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "data")))
	c, err := Load(filepath.Join(dir, "klaxon.yaml"), nil)
	require.NoError(t, err)

	require.Equal(t, dir, c.Dir)
	require.Equal(t, []Listener{{Address: "127.0.0.1:8080"}}, c.Listen)
	require.Equal(t, "http://127.0.0.1:8080", c.PublicURL)
	require.Equal(t, Store{Path: filepath.Join(dir, "data", "klaxon.db")}, c.Store)
	require.Equal(t, API{
		Tokens:     []Token{{Name: "ops", Token: "dev-api-token", Scopes: []klaxon.Scope{klaxon.ScopeAdmin}, ActAs: true}},
		FeedTokens: []FeedToken{{Name: "payments-calendar", Schedule: "payments-primary", Token: "dev-feed-token"}},
	}, c.API)
	require.Equal(t, []Integration{
		{Name: "prometheus", Type: TypeAlertmanager, Token: "dev-prometheus-token"},
		{Name: "datadog", Type: TypeDatadog, Token: "dev-datadog-token"},
		{Name: "tools", Type: TypePagerDuty, Token: "dev-pagerduty-routing-key"},
		{Name: "generic", Type: TypeGeneric, Token: "dev-generic-token", Labels: map[string]string{"team": "platform"}},
	}, c.Integrations)
	require.Equal(t, Notify{Console: &Console{}}, c.Notify)
	require.Equal(t, time.Minute, c.Notify.Limit(klaxon.ViaSMS), "one SMS a minute unless set")
	require.Equal(t, time.Minute, c.Notify.Limit(klaxon.ViaVoice))
	require.Zero(t, c.Notify.Limit(klaxon.ViaEmail))
	require.Equal(t, filepath.Join(dir, "schedules"), c.SchedulesDir)

	r := c.Route.Match(map[string]string{"service": "payments", "severity": "page"})
	require.Equal(t, "payments", r.Policy)
	require.Equal(t, "default", c.Route.Match(map[string]string{"service": "web"}).Policy)
	tmpl, err := c.Table.Route(&klaxon.Alert{Key: "k", Labels: map[string]string{"service": "payments", "severity": "page"}})
	require.NoError(t, err)
	require.Equal(t, "payments", tmpl.Policy.Name, "the table holds the route and the policies")
	require.Equal(t, map[string]string{"team": "platform"}, c.Table.Labels("generic"))

	require.Equal(t, klaxon.Policy{
		Name: "payments", Repeat: 2, AckTimeout: 30 * time.Minute,
		Steps: []klaxon.Step{
			{Targets: []klaxon.Target{{Kind: "schedule", Name: "payments-primary"}}, EscalateAfter: 5 * time.Minute},
			{Targets: []klaxon.Target{{Kind: "schedule", Name: "payments-secondary"}, {Kind: "user", Name: "alice"}}, EscalateAfter: 10 * time.Minute},
		},
	}, c.Policies["payments"])
	require.Len(t, c.Policies, 2)
	require.Equal(t, 1, c.Policies["default"].Repeat)

	require.Len(t, c.Users, 5)
	require.Len(t, c.Schedules, 2)
	primary, secondary := c.Schedules["payments-primary"], c.Schedules["payments-secondary"]
	require.Equal(t, "payments-primary", primary.Name())
	require.Equal(t, []string{"alice", "bob", "carol", "dave", "erin"}, primary.Members())
	for _, u := range append(primary.Members(), secondary.Members()...) {
		require.Contains(t, c.Users, u)
	}
	// Monday 2026-11-23 10:00 in New York: dave's weekday, bob's week.
	mon := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	require.Equal(t, []string{"dave"}, primary.OnCall(mon))
	require.Equal(t, []string{"bob"}, primary.OnCall(mon.Add(8*time.Hour)))
	require.Equal(t, []string{"alice"}, primary.OnCall(mon.Add(-24*time.Hour)))
	require.Equal(t, []string{"carol"}, secondary.OnCall(mon))
	require.Equal(t, []string{"bob"}, primary.OnCall(time.Date(2026, 12, 24, 15, 0, 0, 0, time.UTC)))
	// No gaps; the console stands in for Twilio and SMTP, which the
	// example leaves out, and says so.
	var warnings []string
	for _, w := range c.Warnings(mon) {
		warnings = append(warnings, w.Path+": "+w.Msg)
	}
	require.Equal(t, []string{
		"users[0].notify[0].via: sms and voice: not configured (notify.twilio); the console stands in for it and reaches nobody (this rule and 6 more)",
		"users[0].notify[2].via: email: not configured (notify.smtp); the console stands in for it and reaches nobody (this rule and 3 more)",
		// The tokens of the example are for a try on one's own machine:
		// set KLAXON_API_TOKEN and KLAXON_FEED_TOKEN for anything more.
		"api.tokens[0].token: a token of 13 characters can be guessed: give it 16 random characters or more (openssl rand -hex 16)",
		"api.feed_tokens[0].token: a token of 14 characters can be guessed: give it 16 random characters or more (openssl rand -hex 16)",
	}, warnings)
	require.Equal(t, klaxon.User{
		ID: "alice", Name: "Alice Chen", Phone: "+15550100001", Email: "alice@example.com",
		TimeZone: "Europe/Berlin",
		Notify: []klaxon.NotifyRule{
			{Via: "sms"}, {Via: "voice", After: time.Minute}, {Via: "email"},
		},
	}, c.Users["alice"])

	in, ok := c.Integration("datadog")
	require.True(t, ok)
	require.Equal(t, TypeDatadog, in.Type)
	_, ok = c.Integration("nope")
	require.False(t, ok)

	_, err = os.Stat(filepath.Join(dir, "data"))
	require.ErrorIs(t, err, fs.ErrNotExist, "Load must not create the store's folder")
}

func TestPrecedence(t *testing.T) {
	file := map[string]string{"conf/klaxon.yaml": baseFiles["conf/klaxon.yaml"] + `
listen: 127.0.0.1:1111
public_url: https://file.example.com
store: {path: file.db}
`}
	tests := []struct {
		name      string
		env       map[string]string
		overrides map[string]any
		listen    string
		publicURL string
		store     string
	}{
		{
			name:   "file",
			listen: "127.0.0.1:1111", publicURL: "https://file.example.com", store: "file.db",
		},
		{
			name:   "env over file",
			env:    map[string]string{"KLAXON_LISTEN": "127.0.0.1:2222", "KLAXON_PUBLIC_URL": "https://env.example.com", "KLAXON_STORE_PATH": "env.db"},
			listen: "127.0.0.1:2222", publicURL: "https://env.example.com", store: "env.db",
		},
		{
			name:      "flag over env",
			env:       map[string]string{"KLAXON_LISTEN": "127.0.0.1:2222", "KLAXON_PUBLIC_URL": "https://env.example.com", "KLAXON_STORE_PATH": "env.db"},
			overrides: map[string]any{"listen": "127.0.0.1:3333", "public_url": "https://flag.example.com", "store.path": "flag.db"},
			listen:    "127.0.0.1:3333", publicURL: "https://flag.example.com", store: "flag.db",
		},
		{
			name:      "flag over file",
			overrides: map[string]any{"store.path": "/var/lib/klaxon/flag.db"},
			listen:    "127.0.0.1:1111", publicURL: "https://file.example.com", store: "/var/lib/klaxon/flag.db",
		},
		{
			name:   "empty env is unset",
			env:    map[string]string{"KLAXON_LISTEN": ""},
			listen: "127.0.0.1:1111", publicURL: "https://file.example.com", store: "file.db",
		},
		{
			name:   "KLAXON_API_TOKEN sets nothing",
			env:    map[string]string{"KLAXON_API_TOKEN": "cli-token"},
			listen: "127.0.0.1:1111", publicURL: "https://file.example.com", store: "file.db",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup(t, file)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Load("conf/klaxon.yaml", tt.overrides)
			require.NoError(t, err)
			require.Equal(t, []Listener{{Address: tt.listen}}, c.Listen)
			require.Equal(t, tt.publicURL, c.PublicURL)
			if !filepath.IsAbs(tt.store) {
				tt.store = filepath.Join(c.Dir, tt.store)
			}
			require.Equal(t, tt.store, c.Store.Path)
			require.Empty(t, c.API.Tokens)
		})
	}
}

func TestExpandInLoad(t *testing.T) {
	setup(t, map[string]string{"conf/klaxon.yaml": baseFiles["conf/klaxon.yaml"] + `
api:
  tokens:
    - {name: ops, token: "${TEST_SECRET}"}
    - {name: ci, token: "${TEST_UNSET:-fallback}"}
    - {name: lit, token: "$${NOT_EXPANDED}"}
`})
	secret := "a\"b'c\n  d: [e}\n"
	t.Setenv("TEST_SECRET", secret)
	c, err := Load("conf/klaxon.yaml", nil)
	require.NoError(t, err)
	require.Equal(t, []Token{
		{Name: "ops", Token: secret},
		{Name: "ci", Token: "fallback"},
		{Name: "lit", Token: "${NOT_EXPANDED}"},
	}, c.API.Tokens)
}

func TestPaths(t *testing.T) {
	tests := []struct {
		name      string
		extra     string
		store     string // relative to the config folder unless absolute
		schedules string
	}{
		{name: "defaults", store: "data/klaxon.db"},
		{name: "relative", extra: "store: {path: state/k.db}\nschedules: schedules/\n", store: "state/k.db", schedules: "schedules"},
		{name: "absolute", extra: "store: {path: /srv/k.db}\nschedules: $WD/elsewhere/schedules\n", store: "/srv/k.db", schedules: "$WD/elsewhere/schedules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup(t, nil)
			wd, err := os.Getwd()
			require.NoError(t, err)
			tt.extra = strings.ReplaceAll(tt.extra, "$WD", wd)
			tt.schedules = strings.ReplaceAll(tt.schedules, "$WD", wd)
			require.NoError(t, os.WriteFile("conf/klaxon.yaml", []byte(baseFiles["conf/klaxon.yaml"]+tt.extra), 0o644))
			require.NoError(t, os.MkdirAll("conf/schedules", 0o755))
			require.NoError(t, os.MkdirAll("elsewhere/schedules", 0o755))
			// Loading from another folder resolves against the config's.
			t.Chdir("elsewhere")
			c, err := Load("../conf/klaxon.yaml", nil)
			require.NoError(t, err)
			dir := filepath.Join(wd, "conf")
			require.Equal(t, dir, c.Dir)
			abs := func(p string) string {
				if p == "" || filepath.IsAbs(p) {
					return p
				}
				return filepath.Join(dir, p)
			}
			require.Equal(t, abs(tt.store), c.Store.Path)
			require.Equal(t, abs(tt.schedules), c.SchedulesDir)
		})
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "server",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, []Listener{{Address: "127.0.0.1:8080"}}, c.Listen)
				require.Equal(t, "http://127.0.0.1:8080", c.PublicURL)
				require.Equal(t, []string{"alertname", "service"}, c.Route.GroupBy)
			},
		},
		{
			name:  "trusted proxies: prefixes and addresses",
			files: map[string]string{"conf/klaxon.yaml": baseFiles["conf/klaxon.yaml"] + "trusted_proxies: [10.1.2.3/8, 192.0.2.7, \"fd00::1\"]\n"},
			check: func(t *testing.T, c *Config) {
				require.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("fd00::1/128")}, c.TrustedProxies)
			},
		},
		{
			name:  "public_url of a listen address without a host",
			files: map[string]string{"conf/klaxon.yaml": baseFiles["conf/klaxon.yaml"] + "listen: \":9000\"\n"},
			check: func(t *testing.T, c *Config) {
				require.Equal(t, "http://localhost:9000", c.PublicURL)
			},
		},
		{
			name:  "public_url loses its trailing slash",
			files: map[string]string{"conf/klaxon.yaml": baseFiles["conf/klaxon.yaml"] + "public_url: https://k.example.com/\n"},
			check: func(t *testing.T, c *Config) {
				require.Equal(t, "https://k.example.com", c.PublicURL)
			},
		},
		{
			name:  "console with no value is on",
			files: map[string]string{"conf/klaxon.yaml": strings.Replace(baseFiles["conf/klaxon.yaml"], "console: {}", "console:", 1)},
			check: func(t *testing.T, c *Config) {
				require.Equal(t, Notify{Console: &Console{}}, c.Notify)
				require.Equal(t, time.Minute, c.Notify.Limit(klaxon.ViaSMS), "one SMS a minute unless set")
				require.Equal(t, time.Minute, c.Notify.Limit(klaxon.ViaVoice))
				require.Zero(t, c.Notify.Limit(klaxon.ViaEmail))
			},
		},
		{
			name: "notify rules",
			files: map[string]string{"conf/users.yaml": `
users:
  - {id: alice, phone: "+15550100001"}
  - {id: bob, phone: "+15550100002", email: bob@example.com}
  - {id: carol, email: carol@example.com}
  - {id: dave}
  - {id: erin, phone: "+15550100005", notify: [{via: voice}, {via: sms, after: 0}]}
`},
			check: func(t *testing.T, c *Config) {
				require.Equal(t, []klaxon.NotifyRule{{Via: "sms"}}, c.Users["alice"].Notify)
				require.Equal(t, []klaxon.NotifyRule{{Via: "sms"}, {Via: "email"}}, c.Users["bob"].Notify)
				require.Equal(t, []klaxon.NotifyRule{{Via: "email"}}, c.Users["carol"].Notify)
				require.Equal(t, []klaxon.NotifyRule{{Via: klaxon.ViaConsole}}, c.Users["dave"].Notify)
				require.Equal(t, []klaxon.NotifyRule{{Via: "voice"}, {Via: "sms"}}, c.Users["erin"].Notify)
			},
		},
		{
			name: "smtp",
			files: map[string]string{"conf/klaxon.yaml": baseFiles["conf/klaxon.yaml"] + `
  smtp: {host: mail.example.com, from: "Klaxon <pager@example.com>"}
  twilio: {account_sid: AC0123456789abcdef0123456789abcdef, auth_token: "${TEST_TWILIO:-0123456789abcdef0123456789abcdef}", from: "+15550100000"}
secret: 0123456789abcdef
`},
			check: func(t *testing.T, c *Config) {
				require.Equal(t, &SMTP{Host: "mail.example.com", Port: 587, From: "Klaxon <pager@example.com>", TLS: TLSStartTLS}, c.Notify.SMTP)
				require.Equal(t, &Twilio{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "0123456789abcdef0123456789abcdef", From: "+15550100000"}, c.Notify.Twilio)
			},
		},
		{
			name: "smtp on 465 is implicit tls",
			files: map[string]string{"conf/klaxon.yaml": baseFiles["conf/klaxon.yaml"] + `
  smtp: {host: mail.example.com, port: "${TEST_SMTP_PORT:-465}", from: pager@example.com}
secret: 0123456789abcdef
`},
			check: func(t *testing.T, c *Config) {
				require.Equal(t, 465, c.Notify.SMTP.Port)
				require.Equal(t, TLSImplicit, c.Notify.SMTP.TLS)
			},
		},
		{
			name: "smtp with tls and no port is on 465",
			files: map[string]string{"conf/klaxon.yaml": baseFiles["conf/klaxon.yaml"] + `
  smtp: {host: mail.example.com, tls: tls, from: pager@example.com}
secret: 0123456789abcdef
`},
			check: func(t *testing.T, c *Config) {
				require.Equal(t, 465, c.Notify.SMTP.Port)
				require.Equal(t, TLSImplicit, c.Notify.SMTP.TLS)
			},
		},
		{
			name: "api bounds",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, 7*24*time.Hour, c.API.SnoozeBound())
				require.Equal(t, 366*24*time.Hour, c.API.OverrideBound())
			},
		},
		{
			name: "api bounds set",
			files: map[string]string{"conf/klaxon.yaml": baseFiles["conf/klaxon.yaml"] + `
api: {max_snooze: 12h, max_override: 2w}
`},
			check: func(t *testing.T, c *Config) {
				require.Equal(t, 12*time.Hour, c.API.SnoozeBound())
				require.Equal(t, 14*24*time.Hour, c.API.OverrideBound())
			},
		},
		{
			name: "redis",
			files: map[string]string{"conf/klaxon.yaml": baseFiles["conf/klaxon.yaml"] + `
store:
  redis: {addrs: ["127.0.0.1:26379"], master_name: mymaster, db: 2, tls: true, timeout: 500ms, sentinel_username: sen, sentinel_password: s3cret,
    wait_replicas: 1, wait_timeout: 2s}
`},
			check: func(t *testing.T, c *Config) {
				require.Equal(t, &Redis{Addrs: []string{"127.0.0.1:26379"}, MasterName: "mymaster", DB: 2, TLS: true, Timeout: "500ms",
					SentinelUsername: "sen", SentinelPassword: "s3cret", WaitReplicas: 1, WaitTimeout: "2s"}, c.Store.Redis)
				require.Equal(t, 2*time.Second, c.Store.Redis.WaitTimeoutOr(0))
				require.Equal(t, 500*time.Millisecond, c.Store.Redis.TimeoutOr(0))
				require.Equal(t, filepath.Join(c.Dir, "data", "klaxon.db"), c.Store.Path)
			},
		},
		{
			name: "durations with days and weeks",
			files: map[string]string{
				"conf/klaxon.yaml":           baseFiles["conf/klaxon.yaml"] + "schedules: schedules\n",
				"conf/schedules/primary.yml": primarySchedule,
				"conf/policies/default.yaml": "name: default\nack_timeout: 1d\nsteps: [{targets: [user:alice, schedule:primary], escalate_after: 1w}]\n",
			},
			check: func(t *testing.T, c *Config) {
				p := c.Policies["default"]
				require.Equal(t, 24*time.Hour, p.AckTimeout)
				require.Equal(t, 7*24*time.Hour, p.Steps[0].EscalateAfter)
				require.Equal(t, []klaxon.Target{{Kind: "user", Name: "alice"}, {Kind: "schedule", Name: "primary"}}, p.Steps[0].Targets)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup(t, tt.files)
			c, err := Load("conf/klaxon.yaml", nil)
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestErrorKinds(t *testing.T) {
	setup(t, nil)
	_, err := Load("conf/nope.yaml", nil)
	require.Equal(t, []string{"conf/nope.yaml: no such file or directory"}, lines(t, err))
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.NotErrorIs(t, err, klaxon.ErrInvalid)

	_, err = Load("conf/klaxon.yaml", map[string]any{"lisen": "x"})
	require.Equal(t, []string{"flags: lisen: unknown key"}, lines(t, err))
	require.ErrorIs(t, err, klaxon.ErrInvalid)
	var ce *Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, Error{File: "flags", Path: "lisen", Msg: "unknown key"}, *ce)
}

// TestTokens: API tokens are found by their secret, with the widest of
// their scopes (every scope when the config names none, as before tokens
// had scopes), and feed tokens with their schedule; neither kind is found
// as the other.
func TestTokens(t *testing.T) {
	setup(t, map[string]string{
		"conf/klaxon.yaml": baseFiles["conf/klaxon.yaml"] + `schedules: schedules
api:
  tokens:
    - {name: legacy, token: t-legacy}
    - {name: viewer, token: t-viewer, scopes: [read]}
    - {name: bot, token: t-bot, scopes: [read, act], act_as: "true"}
    - {name: ops, token: t-ops, scopes: [admin]}
  feed_tokens:
    - {name: cal, schedule: primary, token: t-cal}
`,
		"conf/schedules/primary.yaml": primarySchedule,
		"conf/users.yaml": `users:
  - {id: alice, web_token: alice-web-token-0123}
  - {id: bob}
`,
	})
	c, err := Load("conf/klaxon.yaml", nil)
	require.NoError(t, err)
	user, ok := c.WebToken("alice-web-token-0123")
	require.True(t, ok)
	require.Equal(t, "alice", user)
	for _, token := range []string{"", "t-ops", "alice-web-token-012"} {
		_, ok := c.WebToken(token)
		require.False(t, ok, "%q is no web token", token)
	}
	for token, want := range map[string]struct {
		name  string
		scope klaxon.Scope
		actAs bool
	}{
		"t-legacy": {"legacy", klaxon.ScopeAdmin, false},
		"t-viewer": {"viewer", klaxon.ScopeRead, false},
		"t-bot":    {"bot", klaxon.ScopeAct, true},
		"t-ops":    {"ops", klaxon.ScopeAdmin, false},
	} {
		got, ok := c.APIToken(token)
		require.True(t, ok, token)
		require.Equal(t, want.name, got.Name)
		require.Equal(t, want.scope, got.Scope(), token)
		require.Equal(t, want.actAs, got.ActAs, token)
	}
	for _, token := range []string{"", "t-cal", "t-ops "} {
		_, ok := c.APIToken(token)
		require.False(t, ok, "%q is no API token", token)
	}

	feed, ok := c.FeedToken("t-cal")
	require.True(t, ok)
	require.Equal(t, FeedToken{Name: "cal", Schedule: "primary", Token: "t-cal"}, feed)
	for _, token := range []string{"", "t-ops", "t-ca"} {
		_, ok := c.FeedToken(token)
		require.False(t, ok, "%q is no feed token", token)
	}

	in, ok := c.IntegrationToken("alertmanager", "prom-token-0123456789")
	require.True(t, ok)
	require.Equal(t, "prom", in.Name)
	for kind, token := range map[string]string{"pagerduty": "prom-token-0123456789", "alertmanager": "t-ops"} {
		_, ok := c.IntegrationToken(kind, token)
		require.False(t, ok, "%q is no %s integration's token", token, kind)
	}
	_, ok = c.IntegrationToken("alertmanager", "")
	require.False(t, ok)
}

// TestAutoResolve: route.auto_resolve reaches the incidents a route opens.
func TestAutoResolve(t *testing.T) {
	clearEnv(t)
	setup(t, map[string]string{"conf/klaxon.yaml": strings.Replace(baseFiles["conf/klaxon.yaml"], "  policy: default\n",
		"  policy: default\n  routes:\n    - matchers: ['team=\"db\"']\n      auto_resolve: false\n", 1)})
	c, err := Load("conf/klaxon.yaml", nil)
	require.NoError(t, err)
	for team, keepOpen := range map[string]bool{"db": true, "web": false} {
		tmpl, err := c.Table.Route(&klaxon.Alert{Key: "k", Labels: map[string]string{"team": team}})
		require.NoError(t, err)
		require.Equal(t, keepOpen, tmpl.KeepOpen, "team %s", team)
	}
}

func TestUserByPhone(t *testing.T) {
	clearEnv(t)
	setup(t, nil)
	c, err := Load("conf/klaxon.yaml", nil)
	require.NoError(t, err)
	u, ok := c.UserByPhone("+15550100001")
	require.True(t, ok)
	require.Equal(t, "alice", u.ID)
	for _, phone := range []string{"+15559999999", ""} {
		_, ok := c.UserByPhone(phone)
		require.False(t, ok, "phone %q", phone)
	}
}

// TestExampleTokensBeyondLoopback: the example's default tokens are
// fine on loopback, and warned of, each, once a listener serves beyond
// this machine.
func TestExampleTokensBeyondLoopback(t *testing.T) {
	clearEnv(t)
	raw, err := os.ReadFile("../examples/klaxon.yaml")
	require.NoError(t, err)
	var defaults []string
	for _, m := range regexp.MustCompile(`:-(dev-[a-z-]+)\}`).FindAllStringSubmatch(string(raw), -1) {
		defaults = append(defaults, m[1])
	}
	require.ElementsMatch(t, defaults, exampleTokens, "exampleTokens are the example's defaults")

	t.Setenv("KLAXON_LISTEN", "0.0.0.0:8080")
	dir := filepath.Join(t.TempDir(), "examples")
	require.NoError(t, os.CopyFS(dir, os.DirFS("../examples")))
	c, err := Load(filepath.Join(dir, "klaxon.yaml"), nil)
	require.NoError(t, err)
	var paths []string
	for _, w := range c.Warnings(time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)) {
		if strings.Contains(w.Msg, "is a default of the example config, served beyond this machine on 0.0.0.0:8080") {
			paths = append(paths, w.Path)
		}
	}
	require.Equal(t, []string{"api.tokens[0].token", "api.feed_tokens[0].token", "secret", "integrations[0].token",
		"integrations[1].token", "integrations[2].token", "integrations[3].token"}, paths)
}
